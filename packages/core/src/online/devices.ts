import { KeygateError } from '../errors.js'
import { ours } from '../offline/check.js'
import { NOT_ACTIVATED } from '../offline/record.js'
import { normalizeKey } from '../polar/rules.js'
import type { Device, DevicesOptions } from '../types.js'
import type { LeaseClient } from './lease-client.js'
import type { OnlineSession } from './session.js'

/**
 * `devices()` and `freeDevice()`: the key's live activations, through the lease server
 * (Polar lists activations only to an organization token, which only the server holds).
 */

function leaseServerOf(session: OnlineSession): LeaseClient {
  if (session.leaseServer !== undefined) return session.leaseServer
  throw new KeygateError(
    'invalid_input',
    "Listing or freeing a key's devices needs a lease server: pass leaseServer: { url, publicKey } to createLicensing (see @keygate/server).",
  )
}

/**
 * The key to ask about (the one given, else the one this machine is activated with) and
 * this machine's own activation of it, when the grant holds one: the server then marks
 * that seat `current` without asking Polar which seat carrying the fingerprint is ours.
 */
async function keyOf(
  session: OnlineSession,
  options: DevicesOptions,
  fingerprint?: string,
): Promise<{ key: string; activationId: string | undefined }> {
  const record = await session.records.read()
  const grant = record.kind === 'grant' && ours(session, record.grant) ? record.grant : undefined
  const key = options.key !== undefined ? normalizeKey(options.key) : grant?.key
  if (key === undefined) {
    throw new KeygateError(
      'invalid_input',
      'This computer is not activated: pass the license key to list or free its devices.',
    )
  }
  const own = grant?.key === key && grant.fingerprint === fingerprint
  return { key, activationId: own ? grant.activation?.id : undefined }
}

export async function devices(
  session: OnlineSession,
  options: DevicesOptions = {},
): Promise<Device[]> {
  const server = leaseServerOf(session)
  const fingerprint = await session.machine.fingerprint()
  const { key, activationId } = await keyOf(session, options, fingerprint)
  const answer = await server.devices({
    key,
    fingerprint,
    ...(activationId === undefined ? {} : { activation_id: activationId }),
  })
  return answer.devices.map((device) => ({
    id: device.id,
    label: device.label,
    createdAt: Date.parse(device.created_at),
    current: device.current,
  }))
}

/** Frees `activationId`; when it is this machine's own seat, the local grant goes too. */
export async function freeDevice(
  session: OnlineSession,
  activationId: string,
  options: DevicesOptions = {},
): Promise<boolean> {
  const server = leaseServerOf(session)
  const { key } = await keyOf(session, options)
  await server.free({ key, activation_id: activationId })
  return session.records.locked(async (record) => {
    const stored = await record.read()
    const mine = stored.kind === 'grant' && stored.grant.activation?.id === activationId
    if (mine) {
      await record.clear()
      session.emitter.emit(NOT_ACTIVATED)
    }
    return mine
  })
}
