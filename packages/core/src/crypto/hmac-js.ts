import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import type { Keyed } from './record-mac.js'

// The pure-JS HMAC-SHA256, for runtimes without Node's crypto; one lazy chunk with the
// pure-JS Ed25519 (both are fallbacks for the same runtimes).

export const keyedJs: Keyed = (key) => {
  // The padded key's two blocks are hashed once; each use starts from a copy.
  const state = hmac.create(sha256, key)
  return (data) => state.clone().update(data).digest()
}
