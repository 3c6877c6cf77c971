/** Medians and percentiles of the load test's samples. */

export interface Stats {
  n: number
  median: number
  p95: number
  max: number
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b)
  return { n: s.length, median: quantile(s, 0.5), p95: quantile(s, 0.95), max: s.at(-1) ?? NaN }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
