import type { KeygateError } from '../errors.js'
import type { Grant } from './grant.js'
import { asStoreError, type RecordAccess } from './record.js'
import type { TrialMemory } from './trial.js'

/** `check()` advances the clock high-water mark at most once per this much observed time. */
export const HIGH_WATER_STEP = 60 * 60 * 1000

/** True when `check()` at local time `at` should move a trial's mark (as for grants). */
export function trialMarkDue(memory: TrialMemory, at: number): boolean {
  return at > memory.clockHighWater + HIGH_WATER_STEP
}

export interface HighWaterMark {
  /** True when `check()` at local time `at` should move the grant's mark. */
  due(grant: Grant, at: number, fingerprint: string): boolean
  /**
   * Moves the mark to `seenAt` in the background (one write at a time): the start-up
   * check does not wait for the lock and the fsync'd write, which cost milliseconds on a
   * real disk. The write is atomic, so quitting meanwhile leaves the old record, and the
   * mark is tried again on the next start.
   */
  advance(seenAt: number, fingerprint: string): void
  /** Resolves when no background write is left. Never rejects. */
  settled(): Promise<void>
  /** The last background write's failure, once: reported beside the next state. */
  takeError(): KeygateError | undefined
}

export function createHighWaterMark(records: RecordAccess): HighWaterMark {
  const running = new Set<Promise<void>>()
  let pending = false
  let failure: KeygateError | undefined

  const due = (grant: Grant, at: number, fingerprint: string) =>
    fingerprint === grant.fingerprint &&
    grant.verdict === undefined &&
    at > grant.clockHighWater + HIGH_WATER_STEP

  /** Re-read inside the lock: another instance may have moved the mark, or replaced the grant. */
  async function write(seenAt: number, fingerprint: string): Promise<void> {
    await records.locked(async (record) => {
      const stored = await record.read()
      if (stored.kind === 'empty' && stored.trial?.ok) {
        const memory = stored.trial.memory
        if (trialMarkDue(memory, seenAt))
          await record.writeTrial({ ...memory, clockHighWater: seenAt })
        return
      }
      if (stored.kind !== 'grant' || !due(stored.grant, seenAt, fingerprint)) return
      await record.write({ ...stored.grant, clockHighWater: seenAt })
    })
  }

  function advance(seenAt: number, fingerprint: string): void {
    if (pending) return
    pending = true
    const job: Promise<void> = write(seenAt, fingerprint)
      .catch((error: unknown) => {
        failure = asStoreError(error, 'The license record could not be updated')
      })
      .finally(() => {
        pending = false
        running.delete(job)
      })
    running.add(job)
  }

  async function settled(): Promise<void> {
    while (running.size > 0) await Promise.all(running)
  }

  function takeError(): KeygateError | undefined {
    const error = failure
    failure = undefined
    return error
  }

  return { due, advance, settled, takeError }
}
