import { isAbsolute, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface OriginPolicy {
  /** Folders whose `file://` pages are the app's own, e.g. `app.getAppPath()`. */
  fileRoots: readonly string[]
  /**
   * Extra origins, e.g. `http://localhost:5173` (a dev server) or `app://bundle` (a
   * custom protocol). `file://` allows every local file: only if you must.
   */
  allowedOrigins: readonly string[]
}

/**
 * `scheme://host`, compared case-insensitively. Not `URL.origin`: that is "null" for
 * `file:` and for custom schemes, which would make them all look alike.
 */
export function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}`.toLowerCase()
  } catch {
    return undefined
  }
}

/** Whether a frame at `url` may use the license bridge. Unknown or unparsable: no. */
export function isAllowedUrl(url: string | undefined, policy: OriginPolicy): boolean {
  if (url === undefined || url === '') return false
  const origin = originOf(url)
  if (origin === undefined) return false
  const allowed = policy.allowedOrigins.map((entry) => originOf(entry) ?? entry.toLowerCase())
  if (allowed.includes(origin)) return true
  if (origin !== 'file://') return false
  let path: string
  try {
    path = fileURLToPath(url)
  } catch {
    // e.g. file://remote-host/share on POSIX
    return false
  }
  return policy.fileRoots.some((root) => isInside(path, root))
}

function isInside(path: string, root: string): boolean {
  const fold = (p: string) => (process.platform === 'win32' ? p.toLowerCase() : p)
  const rel = relative(fold(root), fold(path))
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)
}
