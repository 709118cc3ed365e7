import type { MachineIdSource } from './machine-id-sources.js'

// Reading the OS id is a fingerprint-cache miss's (or verify()'s) job: `nodeMachine`
// loads this module only then. Only types from machine-id-sources.ts: the package index
// exports that module, so importing its code here would have bundlers load it at start.

/** The first usable machine id `sources` give, in order, or null. */
export async function readMachineId(
  sources: readonly MachineIdSource[],
  timeoutMs: number,
): Promise<{ id: string; source: string } | null> {
  const slow: MachineIdSource[] = []
  for (const source of sources) {
    const raw = await readBounded(source, timeoutMs)
    if (raw === TIMED_OUT) slow.push(source)
    const id = usableMachineId(raw === TIMED_OUT ? null : raw)
    if (id !== null) return { id, source: source.name }
  }
  // A source that was merely slow (a busy machine at login) is asked once more, with more
  // time: switching to the install id would make this look like another machine, and
  // the next start, with the OS id back, would then refuse the grant.
  for (const source of slow) {
    const raw = await readBounded(source, timeoutMs * RETRY_TIMEOUT_FACTOR)
    const id = usableMachineId(raw === TIMED_OUT ? null : raw)
    if (id !== null) return { id, source: source.name }
  }
  return null
}

const TIMED_OUT = Symbol('timed out')
/** The second, last read of a slow source gets this many times `timeoutMs`. */
const RETRY_TIMEOUT_FACTOR = 2

/** The source's answer, null when it fails, TIMED_OUT past `timeoutMs`. */
async function readBounded(
  source: MachineIdSource,
  timeoutMs: number,
): Promise<string | null | typeof TIMED_OUT> {
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => {
      controller.abort()
      resolve(TIMED_OUT)
    }, timeoutMs)
  })
  try {
    // Raced as well as signalled: a source that ignores the signal still cannot hang us.
    return await Promise.race([source.read(controller.signal).catch(() => null), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The id in a canonical form, or null when it cannot identify a machine: empty,
 * systemd's `uninitialized` placeholder (first boot), or all zeros / all F's
 * (VM images and broken firmware report those on every machine).
 */
export function usableMachineId(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null
  const id = raw.trim().toLowerCase()
  if (id.length < 8 || id === 'uninitialized' || id.includes('\0')) return null
  const digits = id.replace(/[-{}\s]/g, '')
  if (/^0+$/.test(digits) || /^f+$/.test(digits)) return null
  return id
}
