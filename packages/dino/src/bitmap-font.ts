// A 3x5-pixel bitmap font for labels drawn into figures without a text renderer:
// upper-case letters, digits and a few signs (lower case is drawn as upper case). Each glyph
// is 5 rows of 3 bits, left to right, top to bottom.

const GLYPHS: Record<string, string> = {
  A: '010101111101101', B: '110101110101110', C: '011100100100011', D: '110101101101110', E: '111100110100111',
  F: '111100110100100', G: '011100101101011', H: '101101111101101', I: '111010010010111', J: '001001001101010',
  K: '101101110101101', L: '100100100100111', M: '101111111101101', N: '110101101101101', O: '010101101101010',
  P: '110101110100100', Q: '010101101110011', R: '110101110101101', S: '011100010001110', T: '111010010010010',
  U: '101101101101111', V: '101101101101010', W: '101101111111101', X: '101101010101101', Y: '101101010010010',
  Z: '111001010100111', '0': '111101101101111', '1': '010110010010111', '2': '110001010100111', '3': '110001010001110',
  '4': '101101111001001', '5': '111100110001110', '6': '011100111101111', '7': '111001010010010', '8': '111101111101111',
  '9': '111101111001110', '-': '000000111000000', '%': '101001010100101', '.': '000000000000010', ':': '000010000010000',
  '(': '001010010010001', ')': '100010010010100', '/': '001001010100100', ' ': '000000000000000',
};

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

/** Width in pixels of `text` drawn at `scale` (one blank column between glyphs). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
}

/**
 * Draws `text` into an RGB image (planar [3, height, width] values in [0, 1]) with its top
 * left corner at (x, y), each font pixel a scale x scale square of `colour`; pixels outside
 * the image are skipped. Characters without a glyph draw as blanks.
 */
export function drawText(rgb: Float64Array, height: number, width: number, text: string, x: number, y: number, scale: number, colour: readonly [number, number, number]): void {
  [...text.toUpperCase()].forEach((ch, k) => {
    const glyph = GLYPHS[ch] ?? GLYPHS[' '];
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (glyph[r * GLYPH_WIDTH + c] !== '1') continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const py = y + r * scale + dy;
            const px = x + (k * (GLYPH_WIDTH + 1) + c) * scale + dx;
            if (py < 0 || py >= height || px < 0 || px >= width) continue;
            for (let ch3 = 0; ch3 < 3; ch3++) rgb[(ch3 * height + py) * width + px] = colour[ch3];
          }
        }
      }
    }
  });
}
