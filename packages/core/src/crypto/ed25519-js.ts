// The pure-JS Ed25519 fallback (runtimes whose Web Crypto lacks Ed25519), one lazy chunk.
export { Point } from '@noble/ed25519'
export { sha512 } from '@noble/hashes/sha2.js'
