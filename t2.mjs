import { MNIST, buildDinoNetworks, l2Normalize } from '@dinots/dino';
import { stack, Generator, noGrad } from '@dinots/tensor';
const mnist = new MNIST();
const imgs = stack(Array.from({ length: 32 }, (_, i) => mnist.get(i * 311).image)).sub(0.1307).div(0.3081);
for (const [D, depth] of [[16,1],[32,2],[64,4]]) {
const { student } = buildDinoNetworks({ imgSize: 28, patchSize: 7, inChans: 1, embedDim: D, depth, numHeads: 2, outDim: 64, headHiddenDim: 64, headBottleneckDim: 16 }, new Generator(1));
noGrad(() => {
  const f = l2Normalize(student.backbone.forward(imgs));
  const sim = f.matmul(f.mT).dataSync();
  let s = 0; for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) if (i !== j) s += sim[i*32+j];
  const h = student.head.mlp.forward(student.backbone.forward(imgs));
  const hn = l2Normalize(h); const s2 = hn.matmul(hn.mT).dataSync(); let t = 0; for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) if (i !== j) t += s2[i*32+j];
  const out = student.head.forward(student.backbone.forward(imgs)).dataSync();
  let mn=1e9,mx=-1e9; for (let k=0;k<64;k++){ let m=0; for (let b=0;b<32;b++) m+=out[b*64+k]; m/=32; let v=0; for (let b=0;b<32;b++) v+=(out[b*64+k]-m)**2; v=Math.sqrt(v/32); mn=Math.min(mn,v); mx=Math.max(mx,v);} 
  console.log(D, depth, 'mean cos backbone', (s/(32*31)).toFixed(4), 'bottleneck', (t/(32*31)).toFixed(4), 'logit std over images min/max', mn.toFixed(4), mx.toFixed(4));
});
}
