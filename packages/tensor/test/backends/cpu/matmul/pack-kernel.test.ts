import { expect } from 'chai';
import fc from 'fast-check';
import { packPanels } from '../../../../src/backends/cpu/matmul/pack.js';
import { KERNEL_SHAPE, type KernelDType, gemmKernelModule } from '../../../../src/backends/cpu/matmul/gemm-kernel.js';
import { instantiate } from '../../../../src/backends/cpu/wasm/instantiate.js';
import { runs, seedArb, values } from '../../../helpers/cases.js';

type Pack = (src: number, lineStride: number, kStride: number, count: number, K: number, dst: number) => void;
interface Exports {
  packA: Pack;
  packB: Pack;
  compactRows: (src: number, srcStride: number, dst: number, dstStride: number, rows: number, rowBytes: number) => void;
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
}

const modules = new Map<KernelDType, Exports | null>();
function module(dtype: KernelDType): Exports | null {
  if (!modules.has(dtype)) modules.set(dtype, instantiate(gemmKernelModule(dtype, 16)) as Exports | null);
  return modules.get(dtype)!;
}

describe('GEMM packing in WebAssembly (pack-kernel.ts)', () => {
  before(function () {
    if (module('float32') !== null) return;
    const reason = 'this runtime has no WebAssembly SIMD; matmul packs in TypeScript';
    if (process.env.CI === 'true') throw new Error(`WebAssembly SIMD GEMM is required in CI: ${reason}`);
    console.log(`    [wasm] skipping the WebAssembly packing tests: ${reason}`);
    this.skip();
  });

  it('packA and packB lay out any strided view exactly as pack.ts does', () => {
    fc.assert(
      fc.property(
        fc.record({
          dtype: fc.constantFrom<KernelDType>('float32', 'float64'),
          which: fc.constantFrom('packA', 'packB'),
          count: fc.integer({ min: 1, max: 40 }),
          K: fc.integer({ min: 1, max: 40 }),
          // lines adjacent (a row-major B: the whole-vector path), k adjacent (a row-major
          // A), neither (a slice of a wider matrix), a broadcast line, or lines walked
          // backwards (a negative stride)
          layout: fc.constantFrom('lines', 'k', 'sliced', 'broadcast', 'reversed'),
          pad: fc.integer({ min: 0, max: 5 }),
          seed: seedArb,
        }),
        ({ dtype, which, count, K, layout, pad, seed }) => {
          const kernel = module(dtype)!;
          const width = which === 'packA' ? KERNEL_SHAPE[dtype].mr : KERNEL_SHAPE[dtype].nr;
          const [lineStride, kStride] = {
            lines: [1, count + pad],
            k: [K + pad, 1],
            sliced: [2 * K + pad, 2],
            broadcast: [0, 1],
            reversed: [-(K + pad), 1],
          }[layout];
          const make = dtype === 'float32' ? Float32Array : Float64Array;
          const bytes = make.BYTES_PER_ELEMENT;
          const src = new make(values(count * Math.abs(lineStride) + K * Math.abs(kStride) + 1, seed));
          const offset = lineStride < 0 ? (count - 1) * -lineStride : 0; // line 0 at the top for a reversed view
          const panels = Math.ceil(count / width);
          const expected = new make(panels * K * width);
          packPanels(src, offset, lineStride, kStride, count, K, width, expected, 0);
          // In the module: the source at element 3, the panels after it, NaN around them.
          const srcAt = 3;
          const dstAt = srcAt + src.length + 5;
          const mem = new make(kernel.memory.buffer).fill(NaN);
          mem.set(src, srcAt);
          kernel[which]((srcAt + offset) * bytes, lineStride * bytes, kStride * bytes, count, K, dstAt * bytes);
          const actual = new make(kernel.memory.buffer);
          expect([...actual.subarray(dstAt, dstAt + expected.length)]).to.deep.equal([...expected]);
          expect(Number.isNaN(actual[dstAt - 1]) && Number.isNaN(actual[dstAt + expected.length]), 'outside the panels untouched').to.equal(true);
        },
      ),
      runs(200),
    );
  });

  it('compactRows squeezes a padded tile into packed rows, in place', () => {
    const kernel = module('float32')!;
    const [rows, cols, padded] = [5, 3, 8];
    const mem = new Float32Array(kernel.memory.buffer);
    for (let i = 0; i < rows * padded; i++) mem[i] = i;
    kernel.compactRows(0, padded * 4, 0, cols * 4, rows, cols * 4);
    const expected = Array.from({ length: rows * cols }, (_, i) => Math.floor(i / cols) * padded + (i % cols));
    expect([...new Float32Array(kernel.memory.buffer, 0, rows * cols)]).to.deep.equal(expected);
  });
});
