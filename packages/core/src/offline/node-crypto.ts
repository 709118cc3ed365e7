/**
 * Node's own crypto, reached synchronously (`process.getBuiltinModule`, Node ≥ 20.16 and
 * Electron ≥ 32) where the runtime has it: a native HMAC and Ed25519 verify, with no
 * JavaScript hash or curve code to load and no Web Crypto promise to wait for. Elsewhere
 * (a browser, a worker) undefined, and the callers fall back to Web Crypto or the bundled
 * pure-JS code. Only the members keygate calls are typed, so core needs no Node types.
 */
export interface NodeCrypto {
  createHmac(
    algorithm: 'sha256',
    key: Uint8Array,
  ): {
    update(data: Uint8Array): { digest(): Uint8Array }
  }
  createPublicKey(key: {
    key: { kty: 'OKP'; crv: 'Ed25519'; x: string }
    format: 'jwk'
  }): NodePublicKey
  verify(algorithm: null, data: Uint8Array, key: NodePublicKey, signature: Uint8Array): boolean
}

/** A KeyObject, opaque here. */
export type NodePublicKey = { readonly type: string }

interface WithBuiltins {
  process?: { getBuiltinModule?: (id: string) => unknown }
}

/** Looked up on each call (a lookup once loaded), so a test can take it away. */
export function nodeCrypto(): NodeCrypto | undefined {
  try {
    return (globalThis as WithBuiltins).process?.getBuiltinModule?.('node:crypto') as
      | NodeCrypto
      | undefined
  } catch {
    return undefined
  }
}
