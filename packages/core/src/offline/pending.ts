import * as v from 'valibot'

/**
 * The crash window of an activation without a lease server: Polar has no idempotency key
 * and no listing for a desktop client, so an activate request cut short (the process
 * killed, the machine off) may have taken a seat nobody knows of. A small note is written
 * before the request leaves; the moment Polar's answer arrives, the note is written again
 * with the activation id (quickly: what a killed process handed the OS stays), then the
 * grant replaces it durably. A note still there at the next start lets the app and
 * `keygate status` say a seat may be held (the seller's `keygate activations prune KEY`
 * frees the duplicate), or, when it names the seat, lets the next activation (or an online
 * `check()`, which finds the key in the note) resume that seat instead of taking another.
 */
export const PendingActivationSchema = v.object({
  /** When the request was about to be sent, local clock, epoch ms. */
  at: v.number(),
  /** The key, masked (never the full key). */
  displayKey: v.string(),
  /**
   * The activation Polar gave before the process stopped: this machine holds that seat,
   * and activating again with the same key resumes it (validated with Polar first).
   */
  activationId: v.optional(v.string()),
  /**
   * The key being activated, stored as a grant stores it (sealed with the keychain's key, or
   * only encoded without one), so that an online `check()` can finish resuming the noted
   * seat without the user typing the key again.
   */
  sealedKey: v.optional(v.string()),
  encodedKey: v.optional(v.string()),
})

export type PendingActivation = v.InferOutput<typeof PendingActivationSchema>

/** A record holding only the note: no grant yet. */
const PendingRecordSchema = v.object({ v: v.literal(1), pending: PendingActivationSchema })

/** The note of a record that holds nothing else, or undefined. Pure; never throws. */
export function parsePendingRecord(text: string): PendingActivation | undefined {
  try {
    const result = v.safeParse(PendingRecordSchema, JSON.parse(text))
    return result.success ? result.output.pending : undefined
  } catch {
    return undefined
  }
}

export function serializePendingRecord(pending: PendingActivation): string {
  return `${JSON.stringify({ v: 1, pending }, null, 2)}\n`
}
