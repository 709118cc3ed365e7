// The pure-JS Ed25519, for runtimes with neither Node's crypto nor Web Crypto's Ed25519;
// one lazy chunk with the pure-JS HMAC.
export { Point } from '@noble/ed25519'
export { sha512 } from '@noble/hashes/sha2.js'
