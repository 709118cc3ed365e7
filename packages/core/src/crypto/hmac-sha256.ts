// The MAC's hash, one lazy chunk: only an app with a keychain loads it.
export { hmac } from '@noble/hashes/hmac.js'
export { sha256 } from '@noble/hashes/sha2.js'
