/**
 * The local host answers probes in-process (no shell per probe); the SSH host runs probe.sh. Both
 * must judge a harness alike: each case here puts a real supervised process (or its remains) into
 * a state, and the local host's answer must equal what probe.sh says of the same directory.
 */
import { execa } from 'execa'
import { mkdtemp, mkdir, rm, utimes, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { LocalHost, PROBE_SCRIPT } from '../../../src/hosts/local-host.js'
import { parseProbe, probeState } from '../../../src/hosts/shell.js'

let workDir: string
let host: LocalHost

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'hr-probe-'))
  host = new LocalHost('probe-test', workDir)
  await host.prepare()
})
afterAll(async () => {
  await execa('pkill', ['-f', workDir], { reject: false })
  await rm(workDir, { recursive: true, force: true })
})

/** probe.sh's answer, as hosts report states, and whether it was an interrupted exit. */
async function scriptSays(proc: string) {
  const { stdout } = await execa('sh', [PROBE_SCRIPT, host.absolute(proc)])
  const raw = parseProbe(stdout)
  return { state: probeState(stdout), interrupted: raw.state === 'exited' && raw.interrupted }
}

/** Both answers, which must agree; only a harness about to be declared lost is asked of probe.sh too. */
async function bothSay(proc: string) {
  const byScript = vi.spyOn(host, 'probeByScript')
  try {
    const [inProcess, script] = await Promise.all([host.probe(proc), scriptSays(proc)])
    expect(inProcess).toEqual(script.state)
    expect(byScript).toHaveBeenCalledTimes(inProcess.state === 'lost' && !script.interrupted ? 1 : 0)
    return inProcess.state
  } finally {
    byScript.mockRestore()
  }
}

async function start(name: string, script: string) {
  await host.startDetached(`${name}/proc`, ['sh', '-c', script], {
    cwd: '.',
    env: { PATH: '/usr/bin:/bin' },
    secretEnv: {},
  })
  return `${name}/proc`
}

async function until(proc: string, file: string) {
  for (let i = 0; i < 200; i++) {
    if ((await host.list(proc)).includes(file)) return
    await sleep(25)
  }
  throw new Error(`${file} never appeared in ${proc}`)
}

const pidOf = async (proc: string, file: 'pid' | 'pgid') =>
  Number((await host.readFrom(`${proc}/${file}`, 0, 32))!.toString().trim())

describe('the local host probes in-process exactly as probe.sh does', () => {
  it('absent: never started', async () => {
    expect(await bothSay('never/proc')).toBe('absent')
  })

  it('running, then exited with its code and times', async () => {
    const proc = await start('exits', 'sleep 1; exit 3')
    await until(proc, 'pid')
    expect(await bothSay(proc)).toBe('running')
    await until(proc, 'exit')
    expect(await bothSay(proc)).toBe('exited')
    expect(await host.probe(proc)).toMatchObject({ exitCode: 3 })
  })

  it('running while only a child of the supervisor holds its lock, lost once that is gone too', async () => {
    // The command leaves a grandchild in a session of its own (as Docker's processes can): only the
    // lock it inherited shows it alive once the supervisor's own group has died.
    const proc = await start('orphan', 'setsid sleep 31.5 & sleep 31.5')
    await until(proc, 'pid')
    // Both sleeps exist before the group dies (on a busy machine the shell may not have forked yet).
    await vi.waitFor(
      async () => {
        const { stdout } = await execa('pgrep', ['-c', '-f', 'sleep 31.5'], { reject: false })
        expect(Number(stdout)).toBeGreaterThanOrEqual(2)
      },
      { timeout: 10_000, interval: 20 },
    )
    const pgid = await pidOf(proc, 'pgid')
    process.kill(-pgid, 'SIGKILL')
    await sleep(200)
    expect(await bothSay(proc)).toBe('running')
    await execa('pkill', ['-KILL', '-f', 'sleep 31.5'], { reject: false })
    await sleep(200)
    expect(await bothSay(proc)).toBe('lost')
  })

  it('interrupted by a service shutdown: lost', async () => {
    const proc = await start('interrupted', 'sleep 0.2')
    await until(proc, 'exit')
    await writeFile(path.join(host.absolute(proc), 'interrupted'), '')
    expect(await bothSay(proc)).toBe('lost')
  })

  it('a proc dir just made is running; one left long ago without a start is lost', async () => {
    await mkdir(host.absolute('fresh/proc'), { recursive: true })
    expect(await bothSay('fresh/proc')).toBe('running')
    await mkdir(host.absolute('stale/proc'), { recursive: true })
    const old = new Date(Date.now() - 60_000)
    await utimes(host.absolute('stale/proc'), old, old)
    expect(await bothSay('stale/proc')).toBe('lost')
  })
})
