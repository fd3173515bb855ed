import { expect } from 'chai';
import fc from 'fast-check';
import { packPanels } from '../../../../src/backends/cpu/matmul/pack.js';
import { runs, seedArb, values } from '../../../helpers/cases.js';

describe('GEMM packing (pack.ts)', () => {
  it('lays out any strided view (row-major, transposed, sliced, broadcast) as zero-padded k-major panels', () => {
    fc.assert(
      fc.property(
        fc.record({
          count: fc.integer({ min: 1, max: 70 }),
          K: fc.integer({ min: 1, max: 70 }),
          width: fc.integer({ min: 1, max: 8 }),
          // lines adjacent (a row-major B, a transposed A), k adjacent (a row-major A), or
          // neither (a slice of a wider matrix); a zero stride is a broadcast (expanded) view
          layout: fc.constantFrom('lines', 'k', 'sliced', 'broadcast'),
          pad: fc.integer({ min: 0, max: 5 }),
          offset: fc.integer({ min: 0, max: 7 }),
          start: fc.integer({ min: 0, max: 9 }),
          float32: fc.boolean(),
          seed: seedArb,
        }),
        ({ count, K, width, layout, pad, offset, start, float32, seed }) => {
          const [lineStride, kStride] = {
            lines: [1, count + pad],
            k: [K + pad, 1],
            sliced: [2 * K + pad, 2],
            broadcast: [0, 1],
          }[layout];
          const make = float32 ? Float32Array : Float64Array;
          const src = new make(values(offset + count * Math.abs(lineStride) + K * Math.abs(kStride) + 1, seed));
          const panels = Math.ceil(count / width);
          const dst = new make(start + panels * K * width + 3).fill(NaN);
          packPanels(src, offset, lineStride, kStride, count, K, width, dst, start);
          for (let l = 0; l < panels * width; l++) {
            for (let k = 0; k < K; k++) {
              const at = start + Math.floor(l / width) * K * width + k * width + (l % width);
              const expected = l < count ? src[offset + l * lineStride + k * kStride] : 0;
              expect(dst[at], `line ${l}, k ${k}`).to.equal(expected);
            }
          }
          expect(Number.isNaN(dst[start - 1] ?? NaN), 'before start untouched').to.equal(true);
          expect(Number.isNaN(dst[start + panels * K * width]), 'after the panels untouched').to.equal(true);
        },
      ),
      runs(200),
    );
  });
});
