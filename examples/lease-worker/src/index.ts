import { createLeaseServer, type LeaseServer } from '@keygate/server'

/** Bindings from wrangler.toml ([vars]) and `wrangler secret put`. */
export interface Env {
  POLAR_ORGANIZATION_ID: string
  /** Secret. */
  POLAR_TOKEN: string
  /** Secret: the private JWK as JSON text. */
  LEASE_SIGNING_KEY: string
  POLAR_SERVER?: string
  LEASE_TTL_DAYS?: string
}

// One server per isolate: requests it serves share its pacing under Polar's rate limit.
let current: { env: Env; server: LeaseServer } | undefined

function leaseServer(env: Env): LeaseServer {
  if (current?.env !== env) {
    const days = Number(env.LEASE_TTL_DAYS ?? 7)
    current = {
      env,
      server: createLeaseServer({
        organizationId: env.POLAR_ORGANIZATION_ID,
        polarToken: env.POLAR_TOKEN,
        signingKey: env.LEASE_SIGNING_KEY,
        server: env.POLAR_SERVER ?? 'production',
        leaseTtl: Math.round(days * 24 * 60 * 60 * 1000),
      }),
    }
  }
  return current.server
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return leaseServer(env).fetch(request)
  },
}
