import * as v from 'valibot'
import { type RecordKeys, sameMac } from '../integrity.js'
import { type StoredTrial, type TrialMemory, TrialMemorySchema } from '../trial.js'

// The trial memory as a record holds it: parsed, serialized, MACed with the record key.

function macInput(memory: TrialMemory): string {
  const { startedAt, endsAt, endedAt, clockHighWater, token, receivedAt } = memory
  const fields = [
    startedAt,
    endsAt,
    endedAt ?? null,
    clockHighWater,
    token ?? null,
    receivedAt ?? null,
  ]
  return `keygate trial v1 ${JSON.stringify(fields)}`
}

/** The memory with a fresh MAC under `keys`, or without one where there is no keychain. */
export function sealTrial(keys: RecordKeys | null, memory: TrialMemory): TrialMemory {
  const { mac: _old, ...fields } = memory
  return keys === null ? fields : { ...fields, mac: keys.mac(macInput(fields)) }
}

/** Checks a memory's MAC: where a keychain exists, a memory without a valid one is refused. */
export function checkTrial(keys: RecordKeys | null, memory: TrialMemory): StoredTrial {
  if (keys === null) return { ok: true, memory, integrity: 'none' }
  if (memory.mac === undefined || !sameMac(keys.mac(macInput(memory)), memory.mac)) {
    return { ok: false, problem: 'the trial record was changed outside keygate' }
  }
  return { ok: true, memory, integrity: 'keychain' }
}

/** The trial memory of a record that holds no grant (`{ v: 1, trial }`), or undefined. */
export function parseTrialRecord(text: string): TrialMemory | undefined {
  try {
    const json = JSON.parse(text) as { v?: unknown; trial?: unknown } | null
    if (json === null || typeof json !== 'object' || json.v !== 1) return undefined
    return parseTrialMemory(json.trial)
  } catch {
    return undefined
  }
}

export function parseTrialMemory(value: unknown): TrialMemory | undefined {
  const result = v.safeParse(TrialMemorySchema, value)
  return result.success ? result.output : undefined
}

/** A record holding the trial memory (and the note of an activation about to be sent). */
export function serializeTrialRecord(memory: TrialMemory, pending?: object): string {
  return `${JSON.stringify({ v: 1, ...(pending === undefined ? {} : { pending }), trial: memory }, null, 2)}\n`
}
