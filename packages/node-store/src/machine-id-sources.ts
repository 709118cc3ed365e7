import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * One place an OS keeps a stable machine id. `read` gives the raw id or null when
 * this source has none here; a throw counts as none. The raw id never leaves
 * `nodeMachine`: only its salted hash does.
 */
export interface MachineIdSource {
  /** For diagnostics, e.g. `/etc/machine-id`. */
  readonly name: string
  /**
   * True when reading it starts a process (as `commandSource` does): too slow for every
   * start, so `nodeMachine` then caches the fingerprint and verifies it in the background.
   */
  readonly spawns?: boolean | undefined
  read(signal: AbortSignal): Promise<string | null>
}

/** A file holding the id as text (Linux's machine-id files). */
export function fileSource(path: string): MachineIdSource {
  return {
    name: path,
    async read(signal) {
      return readFile(path, { encoding: 'utf8', signal })
    },
  }
}

/** A command whose output holds the id; `parse` picks it out. Never goes through a shell. */
export function commandSource(
  name: string,
  file: string,
  args: readonly string[],
  parse: (stdout: string) => string | null,
): MachineIdSource {
  return {
    name,
    spawns: true,
    async read(signal) {
      // Imported here, not at the top: only macOS and Windows run a command, and on
      // Linux loading node:child_process would cost time on every start for nothing.
      const { execFile } = await import('node:child_process')
      return new Promise((resolve, reject) => {
        execFile(
          file,
          args,
          { signal, windowsHide: true, encoding: 'utf8', maxBuffer: 1024 * 1024 },
          (error, stdout) => (error ? reject(error) : resolve(parse(stdout))),
        )
      })
    },
  }
}

/** `ioreg -rd1 -c IOPlatformExpertDevice` prints `"IOPlatformUUID" = "…"`. */
export function parseIoreg(stdout: string): string | null {
  return /"IOPlatformUUID"\s*=\s*"([^"]+)"/.exec(stdout)?.[1] ?? null
}

/** `reg query … /v MachineGuid` prints `    MachineGuid    REG_SZ    …`. */
export function parseRegQuery(stdout: string): string | null {
  return /MachineGuid\s+REG_SZ\s+(\S+)/i.exec(stdout)?.[1] ?? null
}

/** The sources tried on `platform`, most trusted first. */
export function defaultMachineIdSources(
  platform: NodeJS.Platform = process.platform,
): MachineIdSource[] {
  if (platform === 'darwin') {
    return [
      commandSource(
        'IOPlatformUUID',
        '/usr/sbin/ioreg',
        ['-rd1', '-c', 'IOPlatformExpertDevice'],
        parseIoreg,
      ),
    ]
  }
  if (platform === 'win32') {
    // An absolute path: a `reg.exe` planted in the working folder must not answer.
    // `/reg:64` reads the 64-bit view even from a 32-bit Node.
    const reg = join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'reg.exe')
    return [
      commandSource(
        'MachineGuid',
        reg,
        ['query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid', '/reg:64'],
        parseRegQuery,
      ),
    ]
  }
  // Linux and the BSDs with systemd/dbus: the same id, the dbus copy on older systems.
  return [fileSource('/etc/machine-id'), fileSource('/var/lib/dbus/machine-id')]
}
