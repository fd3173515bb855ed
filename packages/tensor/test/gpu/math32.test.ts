// The float32 math helpers compiled into every GPU kernel, run here on the CPU (their twin)
// against float64 references.

import { expect } from 'chai';
import { erf } from '../../src/math/erf.js';
import { erf32, log1p32, pow32, sinShift32, tanh32 } from '../../src/backends/gpu/math32.js';

function grid(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n + 1 }, (_, i) => lo + ((hi - lo) * i) / n);
}

describe('gpu float32 math helpers', () => {
  it('erf32 is within 2e-7 of the float64 erf', () => {
    for (const x of grid(-7, 7, 4001)) expect(Math.abs(erf32(x) - erf(x)), `erf32(${x})`).to.be.below(2e-7);
  });

  it('tanh32 saturates without NaN and is accurate', () => {
    for (const x of grid(-100, 100, 4001)) expect(Math.abs(tanh32(x) - Math.tanh(x)), `tanh32(${x})`).to.be.below(1e-7);
    expect(tanh32(1e-6)).to.equal(1e-6);
  });

  it('sinShift32 gives sin (shift 0) and cos (shift 1) within 2e-7 (float64 arithmetic here; the GPU runs it in float32)', () => {
    for (const x of grid(-100, 100, 20001)) {
      expect(Math.abs(sinShift32(x, 0) - Math.sin(x)), `sinShift32(${x}, 0)`).to.be.below(2e-7);
      expect(Math.abs(sinShift32(x, 1) - Math.cos(x)), `sinShift32(${x}, 1)`).to.be.below(2e-7);
    }
  });

  it('log1p32 keeps relative accuracy for tiny arguments', () => {
    for (const x of [...grid(-0.9, 3, 2001), 1e-8, -1e-8, 3e-5, 0.099999, 0.1]) {
      expect(Math.abs(log1p32(x) - Math.log1p(x)), `log1p32(${x})`).to.be.at.most(5e-9 * Math.abs(Math.log1p(x)) + 1e-16);
    }
  });

  it('pow32 follows C for negative bases and zero', () => {
    expect(pow32(-2, 3)).to.equal(-8);
    expect(pow32(-2, 2)).to.equal(4);
    expect(pow32(-2, 0.5)).to.be.NaN;
    expect(pow32(0, 2)).to.equal(0);
    expect(pow32(0, -1)).to.equal(Infinity);
    expect(pow32(0, 0)).to.equal(1);
    expect(pow32(3, -2)).to.be.closeTo(1 / 9, 1e-15);
  });
});
