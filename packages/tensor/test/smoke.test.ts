import { expect } from 'chai';
import { tensor } from '../src/index.js';

describe('tensor smoke', () => {
  it('builds a tensor and reads it back', () => {
    const t = tensor([[1, 2], [3, 4]]);
    expect(t.shape).to.deep.equal([2, 2]);
    expect(t.toArray()).to.deep.equal([[1, 2], [3, 4]]);
  });
});
