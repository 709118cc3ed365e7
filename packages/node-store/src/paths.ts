import { resolve } from 'node:path'
import { KeygateError } from '@keygate/core'
import envPaths from 'env-paths'

/** Longest app or record name accepted: a path segment, not a sentence. */
const MAX_NAME_LENGTH = 100

// Characters no file name may hold on some supported OS (Windows is the strictest),
// plus every control character. Separators are in here too.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const FORBIDDEN = /[<>:"/\\|?*\u0000-\u001f\u007f]/

/**
 * Refuses a name that could escape its folder or fail on some OS: empty, `.`/`..`,
 * separators, NUL and control characters, Windows-reserved characters, a trailing
 * dot or space (Windows drops them), absurd lengths.
 */
export function assertSafeName(name: unknown, what: 'appName' | 'name'): asserts name is string {
  const problem = nameProblem(name)
  if (problem !== undefined) {
    throw new KeygateError('invalid_input', `${what} ${problem}; use a plain name such as "MyApp".`)
  }
}

function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string'
  if (name.length === 0) return 'must not be empty'
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`
  if (name === '.' || name === '..') return 'must not be "." or ".."'
  if (FORBIDDEN.test(name)) {
    return 'must not contain path separators, control characters or any of < > : " | ? *'
  }
  if (name !== name.trim() || name.endsWith('.')) {
    return 'must not start or end with a space, or end with a dot'
  }
  return undefined
}

/** Where an app's data lives: env-paths' data folder, without its `-nodejs` suffix. */
export function appDataDir(appName: string): string {
  assertSafeName(appName, 'appName')
  return envPaths(appName, { suffix: '' }).data
}

export interface LocationOptions {
  /** Your app's name; the folder is the OS data folder for it. */
  appName?: string | undefined
  /** An explicit folder; overrides `appName`. */
  dir?: string | undefined
}

/** The folder named by `{ dir }` or `{ appName }`, absolute. */
export function resolveDir(options: LocationOptions, caller: string): string {
  if (options.dir !== undefined) {
    if (typeof options.dir !== 'string' || options.dir.length === 0 || options.dir.includes('\0')) {
      throw new KeygateError('invalid_input', `${caller}: dir must be a non-empty folder path.`)
    }
    // A relative dir would follow the process's cwd, which differs between launches.
    return resolve(options.dir)
  }
  if (options.appName !== undefined) return appDataDir(options.appName)
  throw new KeygateError(
    'invalid_input',
    `${caller} needs { appName } (your app's name, to use the OS data folder) or { dir }.`,
  )
}
