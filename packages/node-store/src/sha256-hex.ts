/**
 * SHA-256 of `text` (UTF-8) as 64 lowercase hex characters: the same value as
 * `createHash('sha256').update(text).digest('hex')`, so fingerprints in existing grants
 * still match.
 *
 * Web Crypto rather than node:crypto: both load the same native internals, and the
 * global needs no import, which measured a little cheaper at process start (figures in
 * docs/benchmarks.md). Node ≥ 19 and Electron have the global; the import is the
 * fallback for a runtime started without it.
 */
export async function sha256Hex(text: string): Promise<string> {
  const bytes = new TextEncoder().encode(text)
  const subtle = globalThis.crypto?.subtle
  if (subtle === undefined) {
    const { createHash } = await import('node:crypto')
    return createHash('sha256').update(bytes).digest('hex')
  }
  return Buffer.from(await subtle.digest('SHA-256', bytes)).toString('hex')
}
