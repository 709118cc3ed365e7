import type { PacingLog } from '../store.js'

/**
 * The pacer's memory shared with the other processes of one store (`LicenseStore.pacing`),
 * read and written only while the store's lock is held, which every request to Polar is
 * sent under: when the last requests reached Polar, and until when Polar asked this IP to
 * wait. Each process's own pacer still holds its in-flight requests; this only adds what
 * the others sent before this one took the lock.
 *
 * Wall-clock times (they cross processes): a time after `now` by more than the window, or a
 * pause longer than any Polar gives, is a clock set back or a garbled file, and is dropped.
 */

interface Entry {
  /** Sent, epoch ms. */
  s: number
  /** Answered (or given up on), epoch ms; absent while in flight or when its process died. */
  a?: number
}

interface Shared {
  v: 1
  sent: Entry[]
  pausedUntil?: number
}

/** Polar's longest block is another zone's (checkout, 1800 s); anything beyond is not one. */
const MAX_PAUSE_MS = 3_600_000
/** Entries kept: the window needs only the last few. */
const KEPT = 8

export interface SharedWindow {
  /**
   * Waits until this machine's last `requests` requests are a window old, notes this one as
   * sent and resolves with its send time; rejects with the milliseconds of a pause another
   * process was given (`SharedPause`).
   */
  admit(): Promise<number>
  /** Notes the answer to the request sent at `sentAt`, and a pause Polar asked for. */
  settle(sentAt: number, pauseMs: number | undefined): void
  /** Resolves once every note is written: before the lock is given up. */
  flush(): Promise<void>
}

export class SharedPause {
  constructor(readonly leftMs: number) {}
}

export function sharedWindow(
  log: PacingLog,
  options: {
    now: () => number
    sleep: (ms: number) => Promise<void>
    requests: number
    span: number
  },
): SharedWindow {
  const { now, sleep, requests, span } = options
  // One read-modify-write at a time: a settle may land while the next turn is admitted.
  let chain: Promise<unknown> = Promise.resolve()
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const run = chain.then(step)
    chain = run.catch(() => undefined)
    return run
  }

  async function load(): Promise<Shared> {
    let parsed: unknown
    try {
      const text = await log.read()
      parsed = text === null ? undefined : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    return sane(parsed, now())
  }

  async function save(shared: Shared): Promise<void> {
    try {
      await log.write(JSON.stringify({ ...shared, sent: shared.sent.slice(-KEPT) }))
    } catch {
      // Pacing history is a courtesy to Polar: a store that cannot keep it paces per process.
    }
  }

  return {
    admit: () =>
      serial(async () => {
        const shared = await load()
        const left = (shared.pausedUntil ?? 0) - now()
        if (left > 0) throw new SharedPause(left)
        const times = shared.sent.map((entry) => entry.a ?? entry.s).sort((x, y) => x - y)
        const oldest = times.length >= requests ? times[times.length - requests] : undefined
        if (oldest !== undefined) {
          const wait = oldest + span - now()
          if (wait > 0) await sleep(Math.min(wait, span))
        }
        const sentAt = now()
        await save({ ...shared, sent: [...shared.sent, { s: sentAt }] })
        return sentAt
      }),
    settle(sentAt, pauseMs) {
      const answeredAt = now()
      void serial(async () => {
        const shared = await load()
        const mine = shared.sent.find((entry) => entry.s === sentAt && entry.a === undefined)
        const sent =
          mine === undefined ? [...shared.sent, { s: sentAt, a: answeredAt }] : shared.sent
        if (mine !== undefined) mine.a = answeredAt
        const paused =
          pauseMs === undefined
            ? {}
            : { pausedUntil: Math.max(shared.pausedUntil ?? 0, answeredAt + pauseMs) }
        await save({ ...shared, ...paused, sent })
      })
    },
    flush: () => serial(async () => undefined),
  }
}

/** What a garbled, foreign or clock-skewed text leaves: only plausible times. */
function sane(value: unknown, at: number): Shared {
  const shared: Shared = { v: 1, sent: [] }
  if (typeof value !== 'object' || value === null) return shared
  const { sent, pausedUntil } = value as { sent?: unknown; pausedUntil?: unknown }
  const plausible = (time: unknown, ahead: number): time is number =>
    typeof time === 'number' && Number.isFinite(time) && time <= at + ahead
  if (Array.isArray(sent)) {
    for (const item of sent.slice(-KEPT)) {
      const { s, a } = (typeof item === 'object' && item !== null ? item : {}) as Entry
      if (!plausible(s, 0)) continue
      shared.sent.push(plausible(a, 0) && a >= s ? { s, a } : { s })
    }
  }
  if (plausible(pausedUntil, MAX_PAUSE_MS) && pausedUntil > at) shared.pausedUntil = pausedUntil
  return shared
}
