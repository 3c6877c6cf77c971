/**
 * An SSH host's files, through safe_files.py running there (see that file and execution-host.ts for
 * why): `RemoteFiles` talks to one long-lived `serve` process on a channel of a pooled connection
 * (reads, sizes, listings, small writes, one round trip each, as SFTP would take), and
 * `unpackTree` turns a `pack` process's tar stream into a local directory.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ClientChannel } from 'ssh2'
import { RefusedPathError, type CopyReport, type RefusedKind } from './execution-host.js'
import { sanitizeTree } from './safe-files.js'
import { shellCommand } from './shell.js'

const SCRIPT = readFileSync(fileURLToPath(new URL('./safe_files.py', import.meta.url)), 'utf8')
const REPORT_PREFIX = 'safe-files-report '
/** What is kept of a helper's stderr for error messages. */
const STDERR_KEPT = 4000

/**
 * The remote command line of safe_files.py in `mode` (sent whole, so that a host never runs an
 * older copy). `python3` from the login's PATH.
 */
export function safeFilesCommand(mode: 'serve' | 'pack', workDir: string, ...args: string[]): string {
  return shellCommand(['python3', '-c', SCRIPT, mode, workDir, ...args])
}

/** What one request of `serve` answers (see safe_files.py). */
export interface Answer {
  bytes?: number
  missing?: true
  size?: number
  names?: string[]
  refused?: RefusedKind
  error?: string
}

export type Request =
  | { op: 'read'; path: string; offset: number; max: number }
  | { op: 'size'; path: string }
  | { op: 'list'; path: string; limit: number | null }
  | { op: 'write'; path: string; data: string }
  | { op: 'rmdir'; path: string }

/** A `serve` process on its channel: requests are answered in the order they were sent. */
export class RemoteFiles {
  readonly #pending: { resolve: (a: { answer: Answer; data: Buffer }) => void; reject: (err: Error) => void }[] = []
  #chunks: Buffer[] = []
  #length = 0
  #answer: Answer | null = null
  #ended: Error | null = null
  #stderr = ''

  constructor(
    private readonly channel: ClientChannel,
    private readonly hostId: string,
  ) {
    channel.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk)
      this.#length += chunk.length
      try {
        this.#drain()
      } catch (err) {
        // Not an answer of ours: nothing after it can be trusted either.
        this.#end(`unreadable answer (${(err as Error).message})`)
        this.channel.close()
      }
    })
    channel.stderr.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString('utf8')).slice(-STDERR_KEPT)
    })
    channel.on('close', () => this.#end())
    channel.on('error', () => this.#end())
  }

  /** Whether the process is gone (a new one is needed). */
  get ended(): boolean {
    return this.#ended !== null
  }

  /** Sends one request; resolves with its answer and the bytes that follow it. */
  ask(request: Request): Promise<{ answer: Answer; data: Buffer }> {
    if (this.#ended) return Promise.reject(this.#ended)
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject })
      this.channel.write(JSON.stringify(request) + '\n')
    })
  }

  close(): void {
    this.channel.close()
  }

  #end(reason?: string): void {
    if (this.#ended) return
    const why = reason ?? this.#stderr.trim().split('\n').slice(-3).join(' ')
    this.#ended = new Error(`the file helper on ${this.hostId} ended${why ? `: ${why}` : ''}`)
    for (const p of this.#pending.splice(0)) p.reject(this.#ended)
  }

  /** All that arrived, as one buffer. */
  #take(): Buffer {
    if (this.#chunks.length !== 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)]
    return this.#chunks[0] ?? Buffer.alloc(0)
  }

  #keep(rest: Buffer): void {
    this.#chunks = rest.length > 0 ? [rest] : []
    this.#length = rest.length
  }

  #drain(): void {
    while (this.#pending.length > 0) {
      if (this.#answer === null) {
        if (this.#length === 0) return
        const buffer = this.#take()
        const newline = buffer.indexOf(0x0a)
        if (newline < 0) return
        this.#answer = JSON.parse(buffer.subarray(0, newline).toString('utf8')) as Answer
        this.#keep(buffer.subarray(newline + 1))
      }
      const need = this.#answer.bytes ?? 0
      if (this.#length < need) return
      const buffer = this.#take()
      const data = need === buffer.length ? buffer : Buffer.from(buffer.subarray(0, need))
      this.#keep(buffer.subarray(need))
      const answer = this.#answer
      this.#answer = null
      this.#pending.shift()!.resolve({ answer, data })
    }
  }
}

/** Throws for an answer that refused the path or failed. */
export function checkAnswer(hostId: string, request: Request, answer: Answer): void {
  if (answer.refused) throw new RefusedPathError(request.path, answer.refused)
  if (answer.error) throw new Error(`${request.op} of ${request.path} on ${hostId} failed: ${answer.error}`)
}

/**
 * Unpacks the tar stream of a `pack` process (its channel) into `localDir`, checks what landed there
 * (sanitizeTree), and returns the report of what was copied and left out.
 */
export async function unpackTree(channel: ClientChannel, rel: string, hostId: string, localDir: string) {
  const tar = spawn(
    'tar',
    ['-x', '-f', '-', '-C', localDir, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir'],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  )
  let stderr = ''
  let tarStderr = ''
  channel.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEPT)))
  tar.stderr.on('data', (d: Buffer) => (tarStderr = (tarStderr + d.toString('utf8')).slice(-STDERR_KEPT)))
  // A tar that fails early closes its stdin: the rest of the stream is dropped.
  tar.stdin.on('error', () => {})
  channel.pipe(tar.stdin)
  const [code, tarCode] = await Promise.all([
    new Promise<number | null>((resolve) => {
      let exit: number | null = null
      channel.on('exit', (c: number | null) => (exit = c))
      channel.on('close', () => resolve(exit))
    }),
    new Promise<number | null>((resolve) =>
      tar.on('close', (c) => {
        // tar stops reading at the end-of-archive blocks: the rest (padding) is drained, or the
        // channel would never end.
        channel.unpipe(tar.stdin)
        channel.resume()
        resolve(c)
      }),
    ),
  ])
  if (code === 3) throw Object.assign(new Error(`${rel} does not exist on ${hostId}`), { code: 'ENOENT' })
  if (code === 4) throw new RefusedPathError(rel, /\(link\)/.test(stderr) ? 'link' : 'special')
  const line = stderr.split('\n').find((l) => l.startsWith(REPORT_PREFIX))
  if (code !== 0 || !line) throw new Error(`copying ${rel} from ${hostId} failed (${code}): ${stderr.trim()}`)
  if (tarCode !== 0) throw new Error(`unpacking ${rel} from ${hostId} failed (${tarCode}): ${tarStderr.trim()}`)
  const report = JSON.parse(line.slice(REPORT_PREFIX.length)) as CopyReport
  for (const removed of await sanitizeTree(localDir)) {
    report.leftOutCount++
    report.leftOut.push({ path: removed, why: 'special' })
  }
  return report
}
