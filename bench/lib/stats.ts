/** What every figure is reported with: the run count and the spread, never a lone mean. */
export interface Summary {
  unit: 'µs' | 'ms'
  runs: number
  median: number
  p99: number
  min: number
  max: number
  /** First and third quartiles: half of all runs fall between them. */
  q1: number
  q3: number
}

/** Quantile with linear interpolation between the two nearest ranks (sorted input). */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('no samples to summarize')
  const at = (sorted.length - 1) * q
  const lower = Math.floor(at)
  const upper = Math.ceil(at)
  const a = sorted[lower] as number
  const b = sorted[upper] as number
  return a + (b - a) * (at - lower)
}

export function summarize(samples: readonly number[], unit: Summary['unit']): Summary {
  const sorted = [...samples].sort((a, b) => a - b)
  const round = (n: number) => Math.round(n * 1000) / 1000
  return {
    unit,
    runs: sorted.length,
    median: round(quantile(sorted, 0.5)),
    p99: round(quantile(sorted, 0.99)),
    min: round(sorted[0] as number),
    max: round(sorted[sorted.length - 1] as number),
    q1: round(quantile(sorted, 0.25)),
    q3: round(quantile(sorted, 0.75)),
  }
}

/** `1.23 ms (IQR 1.10–1.40, n=30)`: the form every table cell takes. */
export function describe(summary: Summary, digits = 2): string {
  const f = (n: number) => n.toFixed(digits)
  return `${f(summary.median)} ${summary.unit} (IQR ${f(summary.q1)}–${f(summary.q3)}, n=${summary.runs})`
}

/**
 * A fixed-seed shuffle, so variants compared with each other are interleaved in a
 * different order every round (no variant always runs first, or right after a GC)
 * while a rerun visits them in the same order.
 */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items]
  let state = seed >>> 0 || 1
  for (let i = out.length - 1; i > 0; i--) {
    // xorshift32
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    const j = (state >>> 0) % (i + 1)
    const tmp = out[i] as T
    out[i] = out[j] as T
    out[j] = tmp
  }
  return out
}

/** The median of unsorted samples (interpolated for an even count). */
export function median(samples: readonly number[]): number {
  return quantile(
    [...samples].sort((a, b) => a - b),
    0.5,
  )
}
