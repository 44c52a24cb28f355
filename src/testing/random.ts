/** A small deterministic generator of whole numbers below `n`, so a failing test can be replayed from its seed. */
export function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
}
