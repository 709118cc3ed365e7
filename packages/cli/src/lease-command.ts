import { createKeyPair } from '@keygate/server'
import type { Context } from './context.js'
import { json } from './format.js'
import { EXIT } from './usage.js'

/**
 * `lease keygen`: a new Ed25519 key pair for a lease server (@keygate/server). The
 * private JWK is the server's `signingKey` secret; the public JWK goes into the app's
 * `leaseServer.publicKey`. Nothing is written to disk: the output is the only copy.
 */
export async function leaseKeygen(ctx: Context): Promise<number> {
  const { privateJwk, publicJwk } = await createKeyPair()
  if (ctx.json) {
    ctx.io.out(json({ private_jwk: privateJwk, public_jwk: publicJwk }))
    return EXIT.ok
  }
  ctx.io.out(
    [
      'Public key: embed it in the app (not a secret):',
      '',
      `  leaseServer: { url: 'https://your-lease-server.example', publicKey: ${JSON.stringify(publicJwk)} }`,
      '',
      "Private key: the lease server's signingKey. A secret: put it only in the server's",
      'secret store (Cloudflare: npx wrangler secret put LEASE_SIGNING_KEY; Node: an',
      'environment variable), never in the app or in git. This output is its only copy.',
      '',
      `  ${JSON.stringify(privateJwk)}`,
    ].join('\n'),
  )
  return EXIT.ok
}
