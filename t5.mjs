import { MNIST, MultiCropAugmentation, MNIST_MEAN, MNIST_STD } from '@dinots/dino';
import { Generator } from '@dinots/tensor';
const mnist = new MNIST();
const aug = new MultiCropAugmentation({ globalCropSize: 28, localCropSize: 14, localCropsNumber: 2, globalCropsScale: [0.5, 1], localCropsScale: [0.2, 0.5], mean: MNIST_MEAN, std: MNIST_STD });
const g = new Generator(1);
for (let i = 0; i < 3; i++) {
  const v = aug.forward(mnist.get(i * 1500).image, g);
  console.log('label', mnist.get(i*1500).label, v.map((t) => `[${t.shape}] mean ${t.mean().item().toFixed(2)} std ${t.std().item().toFixed(2)} min ${t.min().item().toFixed(2)} max ${t.max().item().toFixed(2)}`).join(' | '));
  const a = v[0].dataSync(); let s = ''; for (let r = 0; r < 28; r += 2) { for (let c = 0; c < 28; c += 1) s += a[r*28+c] > 0.5 ? '#' : '.'; s += '\n'; } console.log(s);
}
