/** Timing and summary statistics of the balance-history bench (benchmark (b), balance-history.ts). */

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentile. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export const median = (xs: readonly number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** The process's memory use, for the progress lines. */
export const memory = (): string => {
  const m = process.memoryUsage();
  return `rss ${Math.round(m.rss / 2 ** 20)} MiB, JS heap ${Math.round(m.heapUsed / 2 ** 20)} MiB`;
};
