/**
 * The SSH file helper's protocol (remote-files.ts) over a real `safe_files.py serve` process: answers
 * in order however the bytes arrive, a refused path as RefusedPathError, and a stream that is not an
 * answer ends the helper (its requests fail) instead of throwing in the worker's event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ClientChannel } from 'ssh2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RefusedPathError } from '../../../src/hosts/execution-host.js'
import { checkAnswer, RemoteFiles, type Request } from '../../../src/hosts/remote-files.js'

const SCRIPT = fileURLToPath(new URL('../../../src/hosts/safe_files.py', import.meta.url))

/** A channel as ssh2 gives it, over a local process (or driven by hand when `child` is null). */
function channelOf(child: ChildProcess | null): ClientChannel & EventEmitter {
  const channel = new EventEmitter() as ClientChannel & EventEmitter
  const stderr = new EventEmitter()
  Object.assign(channel, {
    stderr,
    write: (data: string) => child?.stdin?.write(data) ?? true,
    close: () => {
      child?.kill()
      channel.emit('close')
    },
  })
  child?.stdout?.on('data', (d: Buffer) => {
    // In pieces of at most 7 bytes: answers split anywhere.
    for (let i = 0; i < d.length; i += 7) channel.emit('data', d.subarray(i, i + 7))
  })
  child?.stderr?.on('data', (d: Buffer) => stderr.emit('data', d))
  child?.on('close', () => channel.emit('close'))
  return channel
}

let dir: string
let child: ChildProcess
let files: RemoteFiles

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hr-remote-files-'))
  mkdirSync(path.join(dir, 'a'))
  writeFileSync(path.join(dir, 'a', 'one.txt'), 'first file\n')
  writeFileSync(path.join(dir, 'a', 'two.txt'), Buffer.alloc(100_000, 'z'))
  symlinkSync('/etc/hostname', path.join(dir, 'a', 'link.txt'))
  child = spawn('python3', [SCRIPT, 'serve', dir], { stdio: ['pipe', 'pipe', 'pipe'] })
  files = new RemoteFiles(channelOf(child), 'test')
})
afterAll(() => {
  child?.kill()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function ask(request: Request) {
  const result = await files.ask(request)
  checkAnswer('test', request, result.answer)
  return result
}

describe('RemoteFiles', () => {
  it('answers requests sent at once, in order, whatever pieces the bytes come in', async () => {
    const [one, two, size, list, missing] = await Promise.all([
      ask({ op: 'read', path: 'a/one.txt', offset: 0, max: 100 }),
      ask({ op: 'read', path: 'a/two.txt', offset: 10, max: 1_000_000 }),
      ask({ op: 'size', path: 'a/two.txt' }),
      ask({ op: 'list', path: 'a', limit: null }),
      ask({ op: 'read', path: 'a/none.txt', offset: 0, max: 10 }),
    ])
    expect(one.data.toString()).toBe('first file\n')
    expect(two.data.equals(Buffer.alloc(99_990, 'z'))).toBe(true)
    expect(size.answer.size).toBe(100_000)
    expect(list.answer.names).toEqual(['link.txt', 'one.txt', 'two.txt'])
    expect(missing.answer.missing).toBe(true)
  })

  it('refuses a link', async () => {
    await expect(ask({ op: 'read', path: 'a/link.txt', offset: 0, max: 100 })).rejects.toBeInstanceOf(RefusedPathError)
  })

  it('ends on a stream that is not an answer, failing what waits, without throwing', async () => {
    const channel = channelOf(null)
    const broken = new RemoteFiles(channel, 'test')
    const pending = broken.ask({ op: 'size', path: 'x' })
    expect(() => channel.emit('data', Buffer.from('Welcome to our server!\n'))).not.toThrow()
    await expect(pending).rejects.toThrow(/file helper on test ended: unreadable answer/)
    expect(broken.ended).toBe(true)
  })
})
