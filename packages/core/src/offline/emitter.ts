import type { LicenseState } from './state.js'

export type StateListener = (state: LicenseState) => void

export interface StateEmitter {
  /**
   * Marks the moment a state's record is read; pass it to `emit`. Later tickets are larger.
   */
  ticket(): number
  /**
   * Passes the state to every listener when it differs meaningfully from the last one and
   * was read no earlier than the last one told (`ticket`, default: now). A check that read
   * the record before an activate or deactivate finished would otherwise leave listeners
   * on the old state.
   */
  emit(state: LicenseState, ticket?: number): LicenseState
  subscribe(listener: StateListener): () => void
}

/** Fields a UI reacts to; a repeated check that changes none of them is not news. */
function signature(state: LicenseState): string {
  return JSON.stringify([
    state.status,
    state.status === 'inactive' ? state.reason : null,
    state.status === 'inactive'
      ? (state.detail ?? null)
      : state.status === 'trial'
        ? [state.trial.endsAt, state.trial.daysLeft]
        : state.validatedAt,
    state.status === 'grace' ? [state.graceEndsAt, state.why] : null,
    state.error?.code ?? null,
    state.features ?? null,
    state.status === 'active' ? (state.updatesUntil ?? null) : null,
  ])
}

/**
 * `decorate` completes every state before it is returned or told (features, a fallback
 * for an expired key: see entitlements.ts).
 */
export function createStateEmitter(
  decorate: (state: LicenseState) => LicenseState = (state) => state,
): StateEmitter {
  const listeners = new Set<StateListener>()
  let last: string | undefined
  let tickets = 0
  let lastTicket = 0
  const ticket = () => ++tickets
  return {
    ticket,
    emit(raw, at = ticket()) {
      const state = decorate(raw)
      if (at < lastTicket) return state
      lastTicket = at
      const next = signature(state)
      if (next === last) return state
      last = next
      for (const listener of [...listeners]) {
        try {
          // An async listener's rejection is swallowed too, rather than left unhandled.
          const returned: unknown = listener(state)
          if (returned instanceof Promise) returned.catch(() => undefined)
        } catch {
          // A listener's bug must not break activate/check for the app that called them.
        }
      }
      return state
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
  }
}
