/**
 * The machine a grant is bound to. The fingerprint is sent to Polar as an
 * activation condition and stored in the grant, so a record copied to another
 * machine is refused both online and offline. It must never be a raw hardware id.
 */
export interface Machine {
  fingerprint(): Promise<string>
  /** A person-readable name for the activation (Polar's `label`), e.g. the host name. */
  label(): Promise<string>
  /**
   * Optional. The fingerprint derived from the hardware id now, for a machine whose
   * `fingerprint()` may answer from a cache (so the start-up check starts no process).
   * It may be slow (it may start one): core calls it in the background after the first
   * check, never on the start-up path, and checks again when it differs from what
   * `fingerprint()` returned, so a copied cache ends in `machine_mismatch` within seconds.
   * Once it has answered, `fingerprint()` answers the same value. A rejection says the id
   * could not be read now, not that the machine differs.
   */
  verify?(): Promise<string>
}

/**
 * The activation condition that binds a seat to this machine. Polar refuses a validate
 * whose conditions differ, so a record copied to another machine fails online as well.
 */
export const MACHINE_CONDITION = 'keygate_machine'

/** A machine with fixed values: for tests, browsers, or ids the app derives itself. */
export function staticMachine(fingerprint: string, label = 'This device'): Machine {
  return {
    fingerprint: async () => fingerprint,
    label: async () => label,
  }
}
