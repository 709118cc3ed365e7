import { fromBase64Url, type RecordKeys, toBase64Url } from '../offline/integrity.js'
import { type NodeCrypto, nodeCrypto } from '../offline/node-crypto.js'

/**
 * The record's MAC and the license key's seal, both HMAC-SHA256 under keys derived from
 * the keychain's secret. Its own lazy chunk: only an app with a keychain loads it. The
 * hash is Node's (native, reached synchronously) where the runtime has it, else the
 * bundled pure-JS one, loaded only then.
 */

/** HMAC-SHA256 under one key. */
type Mac = (data: Uint8Array) => Uint8Array
export type Keyed = (key: Uint8Array) => Mac

/** Node's HMAC, where this runtime's `node:crypto` computes one (a partial one may not). */
function keyedNative(native: NodeCrypto | undefined): Keyed | undefined {
  if (native === undefined) return undefined
  const keyed: Keyed = (key) => (data) => native.createHmac('sha256', key).update(data).digest()
  try {
    keyed(new Uint8Array(32))(new Uint8Array(1))
    return keyed
  } catch {
    return undefined
  }
}

export async function recordKeys(secret: Uint8Array): Promise<RecordKeys> {
  const keyed = keyedNative(nodeCrypto()) ?? (await import('./hmac-js.js')).keyedJs
  const encoder = new TextEncoder()
  const master = keyed(secret)
  // Separate keys for separate jobs, so the seal's keystream never doubles as a MAC.
  const mac = keyed(master(encoder.encode('keygate record mac v1')))
  const seal = keyed(master(encoder.encode('keygate license key seal v1')))
  return {
    mac: (body) => toBase64Url(mac(encoder.encode(body))),
    /**
     * Encrypts the license key: HMAC-SHA256 in counter mode under a random nonce (a stream
     * cipher from the one primitive we ship). Its authenticity comes from the record's
     * MAC, which covers the sealed text.
     */
    seal(key) {
      const nonce = globalThis.crypto.getRandomValues(new Uint8Array(16))
      const sealed = xorStream(seal, nonce, encoder.encode(key))
      const out = new Uint8Array(nonce.length + sealed.length)
      out.set(nonce)
      out.set(sealed, nonce.length)
      return toBase64Url(out)
    },
    open(text) {
      const bytes = fromBase64Url(text)
      if (bytes === null || bytes.length <= 16) return null
      return new TextDecoder().decode(xorStream(seal, bytes.subarray(0, 16), bytes.subarray(16)))
    },
  }
}

function xorStream(seal: Mac, nonce: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length)
  const block = new Uint8Array(nonce.length + 4)
  block.set(nonce)
  for (let offset = 0, counter = 0; offset < data.length; offset += 32, counter++) {
    new DataView(block.buffer).setUint32(nonce.length, counter)
    const stream = seal(block)
    for (let i = 0; i < 32 && offset + i < data.length; i++) {
      out[offset + i] = (data[offset + i] ?? 0) ^ (stream[i] ?? 0)
    }
  }
  return out
}
