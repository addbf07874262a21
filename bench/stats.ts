/** Median, spread and throughput of timed samples. */
export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max - min) / median: how noisy the samples were. */
  readonly spread: number;
}

export function stats(samples: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  const min = s[0] ?? NaN;
  const max = s[s.length - 1] ?? NaN;
  return { median, min, max, spread: (max - min) / median };
}

/** Runs `fn` `warmup` times untimed, then `reps` times timed (ms). */
export async function timeIt(fn: () => Promise<unknown> | unknown, reps: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}
