/** After a failed pull: min(base·2^n, max)·random(0.5..1) seconds, n the failures before this one. */
export function backoffSeconds(failuresBefore: number, baseSeconds = 5, maxSeconds = 900, random: () => number = Math.random): number {
  const ceiling = Math.min(baseSeconds * 2 ** Math.min(failuresBefore, 30), maxSeconds);
  return ceiling * (0.5 + random() * 0.5);
}
