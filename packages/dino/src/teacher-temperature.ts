// The teacher temperature per epoch (the schedule inside the official main_dino.py `DINOLoss`):
// linspace(warmupTeacherTemp, teacherTemp, warmupTeacherTempEpochs), both ends included,
// then teacherTemp for the remaining epochs. The paper's recipe warms 0.04 -> 0.07 over
// 30 epochs; the official code's default is 0 warm-up epochs, a constant 0.04.

export interface TeacherTempOptions {
  warmupTeacherTemp: number;
  teacherTemp: number;
  warmupTeacherTempEpochs: number;
  epochs: number;
}

/** One temperature per epoch (length `epochs`), indexed by the integer epoch. */
export function teacherTempSchedule(options: TeacherTempOptions): Float64Array {
  const { warmupTeacherTemp: start, teacherTemp: end, warmupTeacherTempEpochs: warm, epochs } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`teacherTempSchedule: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(warm) || warm < 0 || warm > epochs) {
    throw new Error(`teacherTempSchedule: warmupTeacherTempEpochs must be an integer in [0, ${epochs}], got ${warm}`);
  }
  if (!(start > 0) || !(end > 0)) throw new Error(`teacherTempSchedule: temperatures must be positive, got ${start} and ${end}`);
  const out = new Float64Array(epochs).fill(end);
  // numpy's linspace: start + i * step, with the last point set to `end` exactly.
  const step = warm > 1 ? (end - start) / (warm - 1) : 0;
  for (let e = 0; e < warm - 1; e++) out[e] = start + e * step;
  if (warm === 1) out[0] = start;
  return out;
}
