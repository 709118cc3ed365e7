import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type LeasePublicKey, leasePublicKeyProblem } from '@keygate/core'
import { UsageError } from './usage.js'

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
  const problem = leasePublicKeyProblem(value)
  if (problem !== undefined) throw refused(problem)
  const { x } = value as LeasePublicKey
  return { kty: 'OKP', crv: 'Ed25519', x }
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
