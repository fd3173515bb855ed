import { buildDinoNetworks } from '@dinots/dino';
import { Generator, randn, noGrad } from '@dinots/tensor';
const { student } = buildDinoNetworks({ imgSize: 28, patchSize: 7, inChans: 1, embedDim: 64, depth: 4, numHeads: 4, outDim: 256, headHiddenDim: 256, headBottleneckDim: 64 }, new Generator(1));
const crops = [randn([32,1,28,28]), randn([32,1,14,14])];
for (let r = 0; r < 3; r++) { const out = student.forward(crops); out.sum().backward(); }
