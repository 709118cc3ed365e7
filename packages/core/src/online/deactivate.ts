import { isKeygateError } from '../errors.js'
import { ours } from '../offline/check.js'
import { grantWithVerdict } from './grant-from-polar.js'
import type { OnlineSession } from './session.js'

/** Frees this machine's seat in Polar, then forgets the local grant (under the lock). */
export async function deactivate(session: OnlineSession): Promise<void> {
  await session.records.locked(async (record) => {
    const stored = await record.read()
    if (stored.kind === 'empty') return
    if (stored.kind !== 'grant') {
      // Nothing we can free; moved aside (not deleted) so the next check starts clean.
      const why = stored.kind === 'damaged' ? stored.reason : `deactivated: ${stored.why}`
      if ((await record.moveAside(why)) === null) await record.clear()
      return
    }
    const grant = stored.grant
    const fingerprint = await session.machine.fingerprint()
    // A copied record's seat belongs to the machine it came from: only forget it here.
    if (grant.activation !== null && grant.fingerprint === fingerprint && ours(session, grant)) {
      // Written first, as the seat's removal: a process killed after Polar frees the seat
      // but before the grant is forgotten must not start again on it offline.
      await record.write(grantWithVerdict(grant, 'activation_not_found', undefined, session.now()))
      try {
        await (await session.client()).deactivate({
          key: grant.key,
          organizationId: grant.organizationId,
          activationId: grant.activation.id,
        })
      } catch (error) {
        const gone =
          isKeygateError(error) &&
          (error.code === 'activation_not_found' || error.code === 'key_not_found')
        if (!gone) {
          // Polar did not free it (or may not have): the grant runs on as it was. Should
          // Polar have freed it after all, the next validation says so.
          await record.write(grant)
          throw error
        }
      }
    }
    await record.clear()
  })
}
