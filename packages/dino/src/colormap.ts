// The viridis colormap (matplotlib's default, perceptually uniform): values in [0, 1] ->
// RGB in [0, 1], piecewise linear through 17 of matplotlib's 256 entries (indices 0, 16,
// ..., 240, 255), within 0.02 of the full table.

const STOPS = [
  [0.267004, 0.004874, 0.329415],
  [0.282327, 0.094955, 0.417331],
  [0.278826, 0.17549, 0.483397],
  [0.258965, 0.251537, 0.524736],
  [0.229739, 0.322361, 0.545706],
  [0.19943, 0.387607, 0.554642],
  [0.172719, 0.448791, 0.557885],
  [0.149039, 0.508051, 0.55725],
  [0.127568, 0.566949, 0.550556],
  [0.120638, 0.625828, 0.533488],
  [0.157851, 0.683765, 0.501686],
  [0.24607, 0.73891, 0.452024],
  [0.369214, 0.788888, 0.382914],
  [0.515992, 0.831158, 0.294279],
  [0.678489, 0.863742, 0.189503],
  [0.845561, 0.887322, 0.099702],
  [0.993248, 0.906157, 0.143936],
] as const;
const POSITIONS = [...Array.from({ length: 16 }, (_, i) => (16 * i) / 255), 1];

/** The viridis colour of `t` (clamped to [0, 1]). */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(Math.max(Number.isNaN(t) ? 0 : t, 0), 1);
  let i = 0;
  while (i < POSITIONS.length - 2 && x > POSITIONS[i + 1]) i++;
  const f = (x - POSITIONS[i]) / (POSITIONS[i + 1] - POSITIONS[i]);
  const a = STOPS[i];
  const b = STOPS[i + 1];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}
