import type { Grant } from '../offline/grant.js'
import { grantFromLease } from './lease-client.js'
import type { OnlineSession } from './session.js'

/**
 * Revalidation through the lease server: one renew (the server validates with Polar and
 * signs a fresh lease). Throws the server's KeygateError, mapped as Polar's would be.
 */
export async function renewLease(session: OnlineSession, grant: Grant): Promise<Grant> {
  const server = session.leaseServer
  if (server === undefined) throw new Error('renewLease without a lease server')
  const answer = await server.renew({
    key: grant.key,
    fingerprint: grant.fingerprint,
    activation_id: grant.activation === null ? null : grant.activation.id,
  })
  const { key, organizationId, server: origin, fingerprint } = grant
  return grantFromLease(
    { key, organizationId, server: origin, fingerprint },
    grant.conditions,
    answer,
    session.now(),
    grant,
  )
}
