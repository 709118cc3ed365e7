/** Plain-text output helpers: tables, dates, durations. No colours: output is often piped. */

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** Columns padded to the widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  )
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

/** `Label:  value` lines with the values aligned. */
export function fields(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`).join('\n')
}

/** `2026-01-15 12:00 UTC`: unambiguous for a support person in any time zone. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/** Polar's ISO string (or epoch ms) as `formatTime`, or `never` for null. */
export function formatExpiry(value: string | number | null, now: number): string {
  if (value === null) return 'never'
  const ms = typeof value === 'number' ? value : Date.parse(value)
  if (Number.isNaN(ms)) return String(value)
  return `${formatTime(ms)} (${relative(ms, now)})`
}

/** `3 days 4 h`, `5 h 10 min`, `2 min`, `less than a minute`. */
export function duration(ms: number): string {
  const abs = Math.abs(ms)
  if (abs < MINUTE) return 'less than a minute'
  const days = Math.floor(abs / DAY)
  const hours = Math.floor((abs % DAY) / HOUR)
  const minutes = Math.floor((abs % HOUR) / MINUTE)
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  if (days > 0) return hours > 0 ? `${plural(days, 'day')} ${hours} h` : plural(days, 'day')
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`
  return `${minutes} min`
}

/** `in 3 days 4 h` or `2 h ago`. */
export function relative(at: number, now: number): string {
  return at >= now ? `in ${duration(at - now)}` : `${duration(now - at)} ago`
}

/**
 * Seats in the same words everywhere: `1 of 2 in use`. Without a limit Polar refuses new
 * activations, and apps validate the key alone.
 */
export function seats(limit: number | null, inUse: number): string {
  if (limit !== null) return `${inUse} of ${limit} in use`
  return inUse === 0 ? 'no activations (validated alone)' : `${inUse} in use, no new ones`
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2)
}
