import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { LeasePublicKey } from '@keygate/core'
import { UsageError } from './usage.js'

/** base64url of 32 bytes: an Ed25519 public key. */
const KEY_BYTES = /^[A-Za-z0-9_-]{43}$/

const EXPECTED =
  'the public JWK `keygate lease keygen` printed ({"kty":"OKP","crv":"Ed25519","x":"…"}), inline or in a JSON file'

/**
 * `--lease-key`: the app's `leaseServer.publicKey`, inline JSON or a path to a JSON file.
 * A usage error never repeats what was passed: it may be a private key pasted by mistake.
 */
export async function leaseKeyFrom(raw: string | undefined): Promise<LeasePublicKey | undefined> {
  if (raw === undefined) return undefined
  const text = raw.trim().startsWith('{') ? raw : await fileText(raw)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw refused('it is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw refused('it is not a JSON object')
  }
  const jwk = value as Record<string, unknown>
  if ('d' in jwk) {
    throw refused(
      "this is the lease server's private key (signingKey), a secret that belongs only on the server; pass the public key",
    )
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw refused('it is not an Ed25519 public key')
  }
  if (!KEY_BYTES.test(jwk.x)) throw refused('its x is not a 32-byte base64url key')
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x }
}

async function fileText(path: string): Promise<string> {
  try {
    return await readFile(resolve(path), 'utf8')
  } catch {
    throw refused('no JSON file can be read at that path, and it is not inline JSON')
  }
}

function refused(why: string): UsageError {
  return new UsageError(`--lease-key takes ${EXPECTED}: ${why}.`, 'status')
}
