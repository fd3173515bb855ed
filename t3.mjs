import { MNIST, MultiCropAugmentation, buildDinoNetworks, MNIST_MEAN, MNIST_STD } from '@dinots/dino';
import { Generator, stack, noGrad } from '@dinots/tensor';
const mnist = new MNIST();
const aug = new MultiCropAugmentation({ globalCropSize: 28, localCropSize: 14, localCropsNumber: 2, mean: MNIST_MEAN, std: MNIST_STD });
const g = new Generator(1);
let t = performance.now();
const samples = []; for (let i = 0; i < 64; i++) samples.push(aug.forward(mnist.get(i).image, g));
console.log('aug per image ms', ((performance.now() - t) / 64).toFixed(2));
for (const [D, depth] of [[64, 4], [128, 2], [192, 2]]) {
  const { student, teacher } = buildDinoNetworks({ imgSize: 28, patchSize: 7, inChans: 1, embedDim: D, depth, numHeads: 4, outDim: 256, headHiddenDim: 256, headBottleneckDim: 64 }, new Generator(1));
  const crops = [0, 1, 2, 3].map((v) => stack(samples.slice(0, 16).map((s) => s[v])));
  t = performance.now();
  for (let r = 0; r < 3; r++) { const out = student.forward(crops); out.sum().backward(); noGrad(() => teacher.forward(crops.slice(0, 2))); }
  console.log(D, depth, 'fwd+bwd per iteration (B16, 4 crops) ms', ((performance.now() - t) / 3).toFixed(0));
}
