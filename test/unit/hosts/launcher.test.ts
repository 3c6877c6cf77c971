/**
 * The launcher starts detached processes from a small helper process (see src/hosts/launcher.ts):
 * real processes here, their session, environment and working directory checked in /proc.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LaunchError, Launcher } from '../../../src/hosts/launcher.js'

let dir: string
const launcher = new Launcher()

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hr-launcher-'))
})
afterAll(async () => {
  launcher.close()
  await rm(dir, { recursive: true, force: true })
})

async function waitForFile(file: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const text = await readFile(file, 'utf8').catch(() => '')
    if (text.endsWith('\n')) return text
    await sleep(50)
  }
  throw new Error(`${file} was not written`)
}

/** Field 6 of /proc/<pid>/stat: the session id. */
async function sessionOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3])
}

describe('Launcher', () => {
  it('starts a process in its own session, with the given environment and working directory', async () => {
    const out = path.join(dir, 'started.txt')
    const pid = await launcher.spawnDetached({
      file: '/bin/sh',
      args: ['-c', `sleep 0.5; echo "$$ $GREETING $(pwd)" > ${out}`],
      cwd: dir,
      env: { GREETING: 'hello' },
    })
    expect(await sessionOf(pid)).toBe(pid)
    expect(await waitForFile(out)).toBe(`${pid} hello ${dir}\n`)
  })

  it('answers a process that cannot start with its error, and keeps serving', async () => {
    const missing = launcher.spawnDetached({
      file: '/bin/sh',
      args: ['-c', 'true'],
      cwd: path.join(dir, 'nope'),
      env: {},
    })
    await expect(missing).rejects.toBeInstanceOf(LaunchError)
    await expect(missing).rejects.toMatchObject({ code: 'ENOENT' })
    const noProgram = launcher.spawnDetached({ file: path.join(dir, 'no-such-program'), args: [], cwd: dir, env: {} })
    await expect(noProgram).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await launcher.spawnDetached({ file: '/bin/true', args: [], cwd: dir, env: {} })).toBeGreaterThan(1)
  })

  it("holds none of the parent's environment (the worker's secrets)", async () => {
    process.env.HR_LAUNCHER_TEST_SECRET = 'do-not-pass'
    try {
      launcher.close()
      await launcher.spawnDetached({ file: '/bin/true', args: [], cwd: dir, env: {} })
      const environ = (await readFile(`/proc/${launcher.pid}/environ`, 'utf8')).split('\0').filter(Boolean)
      // Only what Node sets up for the IPC channel.
      expect(environ.map((e) => e.split('=')[0]).sort()).toEqual(['NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE'])
    } finally {
      delete process.env.HR_LAUNCHER_TEST_SECRET
    }
  })

  it('starts a new helper when the old one died', async () => {
    await launcher.spawnDetached({ file: '/bin/true', args: [], cwd: dir, env: {} })
    const first = launcher.pid!
    process.kill(first, 'SIGKILL')
    for (let i = 0; i < 100 && launcher.pid === first; i++) await sleep(20)
    const out = path.join(dir, 'after-restart.txt')
    await launcher.spawnDetached({ file: '/bin/sh', args: ['-c', `echo ok > ${out}`], cwd: dir, env: {} })
    expect(launcher.pid).not.toBe(first)
    expect(await waitForFile(out)).toBe('ok\n')
  })
})
