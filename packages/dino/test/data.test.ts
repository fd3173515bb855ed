import { expect } from 'chai';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { Generator, type Tensor, rand, tensor } from '@dinots/tensor';
import {
  DataLoader,
  ImageFolder,
  MNIST,
  MultiCropAugmentation,
  MultiCropDataset,
  type Dataset,
  collateImages,
  collateMultiCrop,
  decodeImage,
  encodePng,
  randomSplit,
} from '../src/index.js';

/** An image whose pixels are exact 8-bit levels. */
const levels = (shape: number[], seed: number): Tensor => {
  const r = rand(shape, { generator: new Generator(seed), dtype: 'float64' }).dataSync();
  return tensor(Float64Array.from(r, (v) => Math.floor(v * 256) / 255), { shape, dtype: 'float64' });
};

describe('image files', () => {
  it('round-trips RGB and grayscale images through PNG exactly (grayscale comes back as RGB)', () => {
    const rgb = levels([3, 5, 7], 1);
    expect(Array.from(decodeImage(encodePng(rgb)).dataSync())).to.deep.equal(Array.from(Float32Array.from(rgb.dataSync())));
    const gray = levels([1, 4, 3], 2);
    const back = decodeImage(encodePng(gray));
    expect(back.shape).to.deep.equal([3, 4, 3]);
    for (let c = 0; c < 3; c++) expect(Array.from(back.select(0, c).flatten().dataSync())).to.deep.equal(Array.from(Float32Array.from(gray.dataSync())));
  });

  it('decodes JPEG and names files that are neither PNG nor JPEG', () => {
    const width = 16, height = 8;
    const data = new Uint8Array(width * height * 4).fill(200);
    const bytes = jpeg.encode({ width, height, data }, 95).data;
    const img = decodeImage(bytes);
    expect(img.shape).to.deep.equal([3, 8, 16]);
    img.dataSync().forEach((v) => expect(v * 255).to.be.closeTo(200, 2));
    expect(() => decodeImage(new Uint8Array([1, 2, 3, 4]), 'x.bmp')).to.throw(/x.bmp is neither a PNG nor a JPEG \(first bytes 01 02 03 04\)/);
  });
});

describe('ImageFolder', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'dinots-imagefolder-'));
    mkdirSync(join(root, 'dog', 'nested'), { recursive: true });
    mkdirSync(join(root, 'cat'));
    writeFileSync(join(root, 'dog', 'b.png'), encodePng(levels([3, 4, 4], 3)));
    writeFileSync(join(root, 'dog', 'a.JPG'), jpeg.encode({ width: 8, height: 8, data: new Uint8Array(256).fill(90) }, 90).data);
    writeFileSync(join(root, 'dog', 'nested', 'c.png'), encodePng(levels([1, 2, 3], 4)));
    writeFileSync(join(root, 'dog', 'notes.txt'), 'not an image');
    writeFileSync(join(root, 'cat', 'z.png'), encodePng(levels([3, 6, 5], 5)));
    writeFileSync(join(root, 'README'), 'ignored: not a folder');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('labels sorted sub-folders 0..C-1 and lists images in sorted walk order', () => {
    const ds = new ImageFolder(root);
    expect(ds.classes).to.deep.equal(['cat', 'dog']);
    expect(ds.samples.map(([p, l]) => [p.slice(root.length + 1), l])).to.deep.equal([
      ['cat/z.png', 0],
      ['dog/a.JPG', 1],
      ['dog/b.png', 1],
      ['dog/nested/c.png', 1],
    ]);
    expect(ds.length).to.equal(4);
    expect(ds.get(0).image.shape).to.deep.equal([3, 6, 5]);
    expect(ds.get(3).image.shape).to.deep.equal([3, 2, 3]);
    expect(Array.from(ds.get(2).image.dataSync())).to.deep.equal(Array.from(Float32Array.from(levels([3, 4, 4], 3).dataSync())));
    expect(() => ds.get(4)).to.throw(/index 4 is out of range for length 4/);
  });

  it('applies its transform and rejects class folders without images', () => {
    const ds = new ImageFolder(root, { transform: (img) => img.mul(0) });
    expect(ds.get(1).image.sum().item()).to.equal(0);
    mkdirSync(join(root, 'empty'));
    expect(() => new ImageFolder(root)).to.throw(/no .png\/.jpg\/.jpeg files for the classes empty/);
    rmSync(join(root, 'empty'), { recursive: true });
  });
});

describe('MNIST (embedded, from the mnist package)', () => {
  it('has 10,000 8-bit 28x28 digits with labels 0..9 in class order', () => {
    const ds = new MNIST();
    expect(ds.length).to.equal(10000);
    const counts = new Array(10).fill(0);
    ds.labels.forEach((l) => counts[l]++);
    expect(counts).to.deep.equal([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    const { image, label } = ds.get(5000);
    expect(label).to.equal(4);
    expect(image.shape).to.deep.equal([1, 28, 28]);
    const px = image.dataSync();
    expect(px.every((v) => v >= 0 && v <= 1 && Math.abs(Math.round(v * 255) - v * 255) < 1e-4)).to.equal(true);
    // a digit: some ink, mostly background
    const ink = px.filter((v) => v > 0.5).length;
    expect(ink).to.be.within(30, 400);
  });
});

describe('batching', () => {
  const numbers: Dataset<number> = { length: 10, get: (i) => i };

  it('visits every sample once per pass, shuffled deterministically per seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 12 }), fc.boolean(), (seed, batchSize, dropLast) => {
        const loader = new DataLoader(numbers, { batchSize, collate: (s) => s, shuffle: true, dropLast, generator: new Generator(seed) });
        const batches = [...loader];
        expect(batches.length).to.equal(loader.length);
        const seen = batches.flat();
        if (!dropLast) expect([...seen].sort((a, b) => a - b)).to.deep.equal([...Array(10).keys()]);
        expect(batches.every((b) => b.length === batchSize || (!dropLast && b === batches[batches.length - 1]))).to.equal(true);
        const again = [...new DataLoader(numbers, { batchSize, collate: (s) => s, shuffle: true, dropLast, generator: new Generator(seed) })];
        expect(again).to.deep.equal(batches);
      }),
    );
    const loader = new DataLoader(numbers, { batchSize: 10, collate: (s) => s, shuffle: true, generator: new Generator(0) });
    expect([...loader][0]).to.not.deep.equal([...loader][0]); // a fresh permutation every pass
    expect([...new DataLoader(numbers, { batchSize: 4, collate: (s) => s })]).to.deep.equal([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  it('splits a dataset into disjoint random subsets', () => {
    const [a, b] = randomSplit(numbers, [7, 3], new Generator(1));
    const all = [...Array.from({ length: a.length }, (_, i) => a.get(i)), ...Array.from({ length: b.length }, (_, i) => b.get(i))];
    expect(all.sort((x, y) => x - y)).to.deep.equal([...Array(10).keys()]);
    expect(() => randomSplit(numbers, [5, 4], new Generator(1))).to.throw(/summing to the dataset length 10/);
  });

  it('collates multi-crop views into one [B, C, h, w] tensor per view, crop-major', () => {
    const images: Dataset<{ image: Tensor; label: number }> = { length: 5, get: (i) => ({ image: levels([1, 28, 28], i), label: i % 3 }) };
    const aug = new MultiCropAugmentation({ globalCropSize: 16, localCropSize: 8, localCropsNumber: 2, mean: [0.1307], std: [0.3081] });
    const loader = new DataLoader(new MultiCropDataset(images, aug, new Generator(0)), { batchSize: 2, collate: collateMultiCrop, dropLast: true });
    const batches = [...loader];
    expect(batches.length).to.equal(2);
    expect(batches[0].crops.map((c) => c.shape)).to.deep.equal([[2, 1, 16, 16], [2, 1, 16, 16], [2, 1, 8, 8], [2, 1, 8, 8]]);
    expect(Array.from(batches[1].labels)).to.deep.equal([2, 0]);
    const plain = collateImages([images.get(0), images.get(1)]);
    expect(plain.images.shape).to.deep.equal([2, 1, 28, 28]);
    expect(() => collateMultiCrop([{ crops: [plain.images], label: 0 }, { crops: [], label: 1 }])).to.throw(/sample 1 has 0 views, sample 0 has 1/);
  });
});
