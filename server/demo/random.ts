/**
 * Deterministic randomness for the demo world: the same seed gives the same week of history on
 * every machine. It picks proportions (who pays whom, which payee, which fault); it never
 * computes money.
 */

/** An integer in [0, n). */
export type PickInt = (n: number) => number;

/** mulberry32: a tiny deterministic generator. */
export function makeRandom(seed: number): PickInt {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) | 0;
  };
}
