import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { Generator, type Tensor, rand, tensor } from '@dinots/tensor';
import {
  CenterCrop,
  Resize,
  ColorJitter,
  IMAGENET_MEAN,
  IMAGENET_STD,
  MultiCropAugmentation,
  RandomResizedCrop,
  adjustHue,
  adjustSaturation,
  centerCropFallback,
  gaussianBlur,
  hflip,
  hsvToRgb,
  normalize,
  randomResizedCropParams,
  resize,
  rgbToGrayscale,
  rgbToHsv,
  roundHalfEven,
  solarize,
} from '../src/index.js';

const pil = JSON.parse(readFileSync(new URL('../../test/fixtures/pil-reference.json', import.meta.url), 'utf8')) as Record<string, number[][] | number[][][]>;

/** An arbitrary seeded image: [C, H, W] uniform in [0, 1). */
const imageArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 }),
  channels: fc.constantFrom(1, 3),
  height: fc.integer({ min: 1, max: 12 }),
  width: fc.integer({ min: 1, max: 12 }),
});
const makeImage = ({ seed, channels, height, width }: { seed: number; channels: number; height: number; width: number }) =>
  rand([channels, height, width], { generator: new Generator(seed), dtype: 'float64' });

const inUnitRange = (t: Tensor) => t.dataSync().every((v) => v >= 0 && v <= 1);
const HWC = (a: number[][][]) => {
  const [H, W, C] = [a.length, a[0].length, a[0][0].length];
  const out = new Float64Array(C * H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) out[(c * H + y) * W + x] = a[y][x][c] / 255;
  return tensor(out, { shape: [C, H, W], dtype: 'float64' });
};

describe('resize (PIL bicubic)', () => {
  it('matches Pillow on a float image, up- and down-sampling', () => {
    const input = tensor(pil.resize_in as number[][], { dtype: 'float64' }).unsqueeze(0);
    for (const [h, w] of [[9, 4], [3, 3], [5, 12]]) {
      const want = (pil[`resize_${h}x${w}`] as number[][]).flat();
      const got = resize(input, h, w).dataSync();
      want.forEach((v, i) => expect(got[i]).to.be.closeTo(v, 1e-6));
    }
  });

  it('keeps a constant image constant and stays in [0, 1]', () => {
    fc.assert(
      fc.property(imageArb, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), (spec, h, w) => {
        const img = makeImage(spec);
        const out = resize(img, h, w);
        expect(out.shape).to.deep.equal([spec.channels, h, w]);
        expect(inUnitRange(out)).to.equal(true);
        const flat = resize(img.mul(0).add(0.25), h, w).dataSync();
        flat.forEach((v) => expect(v).to.be.closeTo(0.25, 1e-12));
      }),
      { numRuns: 50 },
    );
  });
});

describe('RandomResizedCrop', () => {
  it('rounds halves to even like Python', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).to.deep.equal([0, 2, 2, -0, -2, 2, 3]);
  });

  it('draws boxes inside the image whose area is within the scale range, or the centre fallback', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (seed, H, W, a, b) => {
          const scale: [number, number] = [Math.min(a, b), Math.max(a, b)];
          const ratio: [number, number] = [3 / 4, 4 / 3];
          const box = randomResizedCropParams(H, W, scale, ratio, new Generator(seed));
          expect(box.top).to.be.at.least(0);
          expect(box.left).to.be.at.least(0);
          expect(box.top + box.height).to.be.at.most(H);
          expect(box.left + box.width).to.be.at.most(W);
          // w and h are rounded from sqrt(A r) and sqrt(A / r): the area is within +-0.5 per side.
          const lo = (box.width - 0.5) * (box.height - 0.5);
          const hi = (box.width + 0.5) * (box.height + 0.5);
          const inRange = lo <= scale[1] * H * W + 1e-9 && hi >= scale[0] * H * W - 1e-9;
          if (!inRange) expect(box).to.deep.equal(centerCropFallback(H, W, ratio));
          expect(randomResizedCropParams(H, W, scale, ratio, new Generator(seed))).to.deep.equal(box);
        },
      ),
    );
  });

  it('falls back to a centre crop with the aspect ratio clamped to [3/4, 4/3]', () => {
    expect(centerCropFallback(10, 100, [3 / 4, 4 / 3])).to.deep.equal({ top: 0, left: 43, height: 10, width: 13 });
    expect(centerCropFallback(100, 10, [3 / 4, 4 / 3])).to.deep.equal({ top: 43, left: 0, height: 13, width: 10 });
    expect(centerCropFallback(30, 32, [3 / 4, 4 / 3])).to.deep.equal({ top: 0, left: 0, height: 30, width: 32 });
    // a 1 x 100 strip cannot fit any 3/4..4/3 box of scale >= 0.5 in 10 tries
    expect(randomResizedCropParams(1, 100, [0.5, 1], [3 / 4, 4 / 3], new Generator(0))).to.deep.equal({ top: 0, left: 49, height: 1, width: 1 });
  });

  it('outputs size x size images in [0, 1]', () => {
    fc.assert(
      fc.property(imageArb, fc.integer({ min: 1, max: 16 }), (spec, size) => {
        const out = new RandomResizedCrop(size, { scale: [0.05, 1] }).forward(makeImage(spec), new Generator(spec.seed));
        expect(out.shape).to.deep.equal([spec.channels, size, size]);
        expect(inUnitRange(out)).to.equal(true);
      }),
      { numRuns: 50 },
    );
  });
});

describe('pixel transforms', () => {
  it('hflip reverses columns and is an involution', () => {
    fc.assert(
      fc.property(imageArb, (spec) => {
        const img = makeImage(spec);
        const { channels: C, height: H, width: W } = spec;
        const a = img.dataSync();
        const f = hflip(img).dataSync();
        for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
          expect(f[(c * H + y) * W + x]).to.equal(a[(c * H + y) * W + (W - 1 - x)]);
        }
        expect(Array.from(hflip(hflip(img)).dataSync())).to.deep.equal(Array.from(a));
      }),
      { numRuns: 50 },
    );
  });

  it('solarize inverts exactly the values >= 0.5 (PIL threshold 128 on 8-bit levels)', () => {
    fc.assert(
      fc.property(imageArb, (spec) => {
        const img = makeImage(spec);
        const a = img.dataSync();
        const s = solarize(img).dataSync();
        a.forEach((v, i) => expect(s[i]).to.equal(v >= 0.5 ? 1 - v : v));
      }),
      { numRuns: 50 },
    );
    const levels = tensor([[[127 / 255, 128 / 255, 1]]], { dtype: 'float32' });
    expect(Array.from(solarize(levels).dataSync())).to.deep.equal([Math.fround(127 / 255), Math.fround(1 - Math.fround(128 / 255)), 0]);
  });

  it('grayscale sets every channel to the luma 0.299 R + 0.587 G + 0.114 B and is idempotent', () => {
    fc.assert(
      fc.property(imageArb, (spec) => {
        const img = makeImage({ ...spec, channels: 3 });
        const n = spec.height * spec.width;
        const a = img.dataSync();
        const g = rgbToGrayscale(img);
        const d = g.dataSync();
        for (let i = 0; i < n; i++) {
          const y = 0.299 * a[i] + 0.587 * a[n + i] + 0.114 * a[2 * n + i];
          for (let c = 0; c < 3; c++) expect(d[c * n + i]).to.be.closeTo(y, 1e-15);
        }
        rgbToGrayscale(g).dataSync().forEach((v, i) => expect(v).to.be.closeTo(d[i], 1e-15));
      }),
      { numRuns: 50 },
    );
  });

  it('HSV round-trips and a zero hue shift or unit saturation leaves the image unchanged', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (r, g, b) => {
        const back = hsvToRgb(...rgbToHsv(r, g, b));
        [r, g, b].forEach((v, i) => expect(back[i]).to.be.closeTo(v, 1e-12));
      }),
    );
    const img = makeImage({ seed: 3, channels: 3, height: 5, width: 6 });
    const same = (t: Tensor) => t.dataSync().forEach((v, i) => expect(v).to.be.closeTo(img.dataSync()[i], 1e-12));
    same(adjustHue(img, 0));
    same(adjustSaturation(img, 1));
    // a half turn of hue maps pure red to cyan
    expect(Array.from(adjustHue(tensor([[[1]], [[0]], [[0]]], { dtype: 'float64' }), 0.5).dataSync())).to.deep.equal([0, 1, 1]);
  });

  it('ColorJitter keeps values in [0, 1] and is deterministic for a seed', () => {
    const jitter = new ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 });
    fc.assert(
      fc.property(imageArb, (spec) => {
        const img = makeImage(spec);
        const a = jitter.forward(img, new Generator(spec.seed));
        expect(inUnitRange(a)).to.equal(true);
        expect(Array.from(jitter.forward(img, new Generator(spec.seed)).dataSync())).to.deep.equal(Array.from(a.dataSync()));
      }),
      { numRuns: 50 },
    );
  });

  it('gaussianBlur matches Pillow GaussianBlur on an 8-bit image (within its rounding)', () => {
    const input = HWC(pil.blur_in as number[][][]);
    for (const sigma of ['0.1', '0.7', '2.0']) {
      const want = HWC(pil[`blur_${sigma}`] as number[][][]).dataSync();
      const got = gaussianBlur(input, Number(sigma)).dataSync();
      let worst = 0;
      got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want[i]))));
      // PIL rounds to 8 bits after each of its 6 passes (at most half a level each); the
      // float blur keeps what those roundings drop. Unblurred pixels differ by up to 137 levels.
      expect(worst * 255, `sigma ${sigma}`).to.be.below(3);
    }
  });

  it('normalize standardises per channel and names mismatched channel counts', () => {
    const img = tensor([[[0, 1]], [[0.5, 0.5]], [[1, 0]]], { dtype: 'float64' });
    const out = normalize(img, IMAGENET_MEAN, IMAGENET_STD).dataSync();
    expect(out[0]).to.be.closeTo(-0.485 / 0.229, 1e-15);
    expect(out[5]).to.be.closeTo(-0.406 / 0.225, 1e-15);
    expect(() => normalize(img, [0.5], [0.5])).to.throw(/1 means and 1 stds for an image with 3 channels/);
  });
});

describe('MultiCropAugmentation', () => {
  const aug = new MultiCropAugmentation({ globalCropSize: 12, localCropSize: 6, localCropsNumber: 3, mean: [0.5], std: [0.25] });

  it('gives 2 global and n local views of the configured sizes, normalised, deterministic per seed', () => {
    fc.assert(
      fc.property(imageArb, (spec) => {
        const img = makeImage({ ...spec, channels: 1, height: spec.height + 8, width: spec.width + 8 });
        const views = aug.forward(img, new Generator(spec.seed));
        expect(views.map((v) => v.shape)).to.deep.equal([[1, 12, 12], [1, 12, 12], [1, 6, 6], [1, 6, 6], [1, 6, 6]]);
        for (const v of views) expect(v.dataSync().every((x) => x >= -2 - 1e-12 && x <= 2 + 1e-12)).to.equal(true);
        const again = aug.forward(img, new Generator(spec.seed));
        views.forEach((v, i) => expect(Array.from(again[i].dataSync())).to.deep.equal(Array.from(v.dataSync())));
      }),
      { numRuns: 20 },
    );
  });

  it('has the official defaults: 2 x 224 + 8 x 96 on RGB', () => {
    const views = new MultiCropAugmentation().forward(makeImage({ seed: 1, channels: 3, height: 40, width: 50 }), new Generator(1));
    expect(views.map((v) => v.shape.join('x'))).to.deep.equal([...Array(2).fill('3x224x224'), ...Array(8).fill('3x96x96')]);
  });

  it('draws different views for different seeds', () => {
    const img = makeImage({ seed: 7, channels: 1, height: 28, width: 28 });
    const a = aug.forward(img, new Generator(1))[0].dataSync();
    const b = aug.forward(img, new Generator(2))[0].dataSync();
    expect(Array.from(a)).to.not.deep.equal(Array.from(b));
  });
});

describe('evaluation transforms', () => {
  it('Resize scales the shorter side to the size, keeping the aspect ratio (truncated)', () => {
    expect(new Resize(8).forward(makeImage({ seed: 1, channels: 3, height: 10, width: 15 })).shape).to.deep.equal([3, 8, 12]);
    expect(new Resize(8).forward(makeImage({ seed: 1, channels: 1, height: 13, width: 6 })).shape).to.deep.equal([1, 17, 8]);
  });

  it('CenterCrop cuts the middle window, rounding the offset half to even', () => {
    const img = tensor(Array.from({ length: 5 }, (_, y) => Array.from({ length: 6 }, (_, x) => 10 * y + x)), { dtype: 'float64' }).unsqueeze(0);
    // (5 - 2) / 2 = 1.5 -> 2 ; (6 - 2) / 2 = 2
    expect(new CenterCrop(2).forward(img).toArray()).to.deep.equal([[[22, 23], [32, 33]]]);
    expect(() => new CenterCrop(7).forward(img)).to.throw(/cannot cut a 7x7 window from an image of shape \[1,5,6\]/);
  });
});
