/**
 * Host keys of SSH execution hosts, in an OpenSSH known_hosts file shared with `ssh`/`rsync`
 * (`UserKnownHostsFile`). A key seen for the first time is recorded (trust on first use) unless the
 * policy is strict; a key that differs from the recorded one is always refused.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'

/** The known_hosts name of a host: `hostname`, or `[hostname]:port` off port 22. */
export function knownHostsName(hostname: string, port: number): string {
  return port === 22 ? hostname : `[${hostname}]:${port}`
}

/** The key type written at the start of an SSH public key blob. */
function keyType(blob: Buffer): string {
  const length = blob.readUInt32BE(0)
  return blob.subarray(4, 4 + length).toString('ascii')
}

export class KnownHosts {
  constructor(
    readonly file: string,
    readonly strict: boolean,
  ) {}

  /**
   * Whether `key` (the raw blob ssh2 hands to its host verifier) may be trusted for `name`.
   * Synchronous, as ssh2's verifier is.
   */
  async verify(name: string, key: Buffer): Promise<boolean> {
    const type = keyType(key)
    const encoded = key.toString('base64')
    const lines = (await fs.readFile(this.file, 'utf8').catch(() => '')).split('\n')
    const recorded = lines
      .map((l) => l.trim().split(/\s+/))
      .filter(([names, t]) => names?.split(',').includes(name) && t === type)
    if (recorded.length > 0) return recorded.some(([, , k]) => k === encoded)
    if (this.strict) return false
    await fs.mkdir(path.dirname(this.file), { recursive: true })
    await fs.appendFile(this.file, `${name} ${type} ${encoded}\n`, { mode: 0o600 })
    return true
  }
}
