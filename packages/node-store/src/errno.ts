// Error-code helpers shared by the read path and the lazily loaded write path.

export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code
    return typeof code === 'string' ? code : undefined
  }
  return undefined
}

export function isErrno(error: unknown, ...codes: string[]): boolean {
  const code = errnoCode(error)
  return code !== undefined && codes.includes(code)
}

/** A failed fs call in words a person can act on (the errno code, never a raw stack). */
export function describeFsError(error: unknown): string {
  const code = errnoCode(error)
  if (code === 'EACCES' || code === 'EPERM') return `${code}: permission denied`
  if (code === 'EISDIR') return 'EISDIR: it is a folder, not a file'
  if (code === 'ENOTDIR') return 'ENOTDIR: a file stands where a folder should be'
  return code ?? (error instanceof Error ? error.message : String(error))
}
