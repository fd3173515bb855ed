import { MNIST, Subset, trainDino, MNIST_MEAN, MNIST_STD } from '@dinots/dino';
const mnist = new MNIST();
const idx = Array.from({ length: 64 }, (_, i) => (i * 157) % mnist.length);
const t0 = performance.now();
const r = trainDino({
  dataset: new Subset(mnist, idx),
  model: { imgSize: 28, patchSize: +(process.argv[12]??7), inChans: 1, embedDim: +(process.argv[7]??16), depth: +(process.argv[8]??1), numHeads: 4, outDim: +(process.argv[6]??32), headHiddenDim: 32, headBottleneckDim: 16 },
  augmentation: { globalCropSize: 28, localCropSize: 14, localCropsNumber: 2, globalCropsScale: [0.5, 1], localCropsScale: [0.2, 0.5], mean: MNIST_MEAN, std: MNIST_STD },
  batchSize: 16, epochs: +process.argv[2], warmupEpochs: +(process.argv[9]??1), lr: +process.argv[3], freezeLastLayer: +(process.argv[11]??1), momentumTeacher: +(process.argv[5]??0.99), teacherTemp: +(process.argv[4]??0.04), warmupTeacherTemp: +(process.argv[4]??0.04), progress: false, seed: 1,
});
console.log(((performance.now()-t0)/1000).toFixed(2),'s');
for (const m of r.history.filter((_, i) => i % (+(process.argv[10]??4)) === 0)) console.log(m.iteration, m.loss.toFixed(4), m.teacherEntropy.toFixed(3), m.entropyOfMean.toFixed(3), m.logK.toFixed(3), m.lr.toExponential(2));
