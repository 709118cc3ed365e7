// Error-code helpers shared by the lazily loaded write path (and the read path's failures).

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

const WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a file stands where a folder should be',
  ENOTEMPTY: 'a folder stands where the file should be',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the disk is read-only',
  EBUSY: 'another program is using it',
  ELOOP: 'a symbolic link is in the way',
  EMFILE: 'too many files are open',
  ENFILE: 'too many files are open',
  EIO: 'the disk reported a read or write error',
  ENOENT: 'it is missing',
}

/**
 * A failed fs call in words a person can act on. No errno code and no raw stack: the
 * error itself stays available as the KeygateError's `cause` for a developer.
 */
export function describeFsError(error: unknown): string {
  const code = errnoCode(error)
  if (code !== undefined) return WORDS[code] ?? 'the file system refused the operation'
  return error instanceof Error ? error.message : String(error)
}
