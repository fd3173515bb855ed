import { expect } from 'chai';
import { existsSync } from 'node:fs';

describe('fixtures', () => {
  it('ships the golden DINO tensors', () => {
    expect(existsSync(new URL('../fixtures/golden/dino-tiny.safetensors', import.meta.url))).to.equal(true);
  });
});
