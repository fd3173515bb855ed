import { expect } from 'chai';
import fc from 'fast-check';
import { tensor } from '@dinots/tensor';
import { attentionMassMask, clsAttention } from '../src/index.js';
import { golden, maxAbsDiff } from './golden.js';

describe('attention maps', () => {
  it('reproduces the golden 60%-mass masks of crop 0 from its last-layer attention', () => {
    const cls = clsAttention(golden('step1/last_selfattn_crop0'));
    expect(cls.shape).to.deep.equal([3, 4, 16]);
    expect(maxAbsDiff(attentionMassMask(cls, 0.6), golden('step1/attn_mask_crop0_th0.6'))).to.equal(0);
  });

  it('keeps the smallest top set holding at least the threshold mass', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }), fc.double({ min: 0.05, max: 1, noNaN: true }), (row, th) => {
        const mask = attentionMassMask(tensor(row, { dtype: 'float64' }), th).dataSync();
        const total = row.reduce((a, b) => a + b, 0);
        const kept = row.filter((_, i) => mask[i] === 1);
        const dropped = row.filter((_, i) => mask[i] === 0);
        // every kept value is at least every dropped value
        if (kept.length && dropped.length) expect(Math.min(...kept)).to.be.at.least(Math.max(...dropped));
        const keptMass = kept.reduce((a, b) => a + b, 0) / total;
        expect(keptMass).to.be.at.least(th - 1e-9);
        // dropping the smallest kept value would fall below the threshold
        if (kept.length > 1) expect(keptMass - Math.min(...kept) / total).to.be.below(th + 1e-9);
      }),
    );
  });

  it('rejects an attention tensor that is not [B, heads, N+1, N+1]', () => {
    expect(() => clsAttention(tensor([[1, 2]]))).to.throw(/\[B, heads, N\+1, N\+1\], got shape \[1,2\]/);
  });
});
