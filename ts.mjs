import { registerBackend, CpuBackend, setNumThreads } from '@dinots/tensor'; if (process.env.NOSIMD) registerBackend('cpu', () => new CpuBackend({ simd: false })); if (process.env.T1) setNumThreads(1);
import { MNIST, MNIST_MEAN, MNIST_STD, Subset, trainDino } from '@dinots/dino';
const mnist = new MNIST();
const { history } = trainDino({
  dataset: new Subset(mnist, Array.from({ length: 64 }, (_, i) => (i * 157) % mnist.length)),
  model: { imgSize: 28, patchSize: 7, inChans: 1, embedDim: 32, depth: 1, numHeads: 4, outDim: 256, headHiddenDim: 32, headBottleneckDim: 16, dtype: process.env.DT ?? 'float32' },
  augmentation: { globalCropSize: 28, localCropSize: 14, localCropsNumber: 2, globalCropsScale: [0.5, 1], localCropsScale: [0.2, 0.5], mean: MNIST_MEAN, std: MNIST_STD },
  batchSize: 16, epochs: 6, warmupEpochs: 2, freezeLastLayer: 2, lr: 0.02, momentumTeacher: 0.996, warmupTeacherTemp: 0.005, teacherTemp: 0.005, seed: Number(process.argv[2] ?? 1), progress: false,
});
console.log(history.map(m => `${m.iteration}: loss ${m.loss.toFixed(3)} H ${m.teacherEntropy.toFixed(2)} Hmean ${m.entropyOfMean.toFixed(2)} ${m.collapse}`).join('\n'));
