/**
 * The load tests' stand-in for harbor (test/load/fake_harbor.py) writes what the real one writes:
 * its job directory loads with Harbor's own models (the installed Harbor, in .venv), our own parser
 * reads the outcome from it, and it writes log lines at the rate its model name asks for.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { outcomeFromTrialResult, parseTrialResultJson } from '../../../src/harness/harbor-result.js'
import { PROJECT_ROOT, VENV_BIN } from '../../../src/paths.js'

const FAKE = path.join(PROJECT_ROOT, 'test', 'load', 'harbor')
const TASK = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass')
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hr-fake-harbor-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

async function fakeRun(jobName: string, model: string) {
  const args = ['run', '--path', TASK, '--agent', 'oracle', '--model', model, '--n-attempts', '1']
  const started = Date.now()
  const result = await execa(FAKE, [...args, '--jobs-dir', path.join(dir, 'jobs'), '--job-name', jobName, '--yes'])
  const jobDir = path.join(dir, 'jobs', jobName)
  const trial = (await readdir(jobDir, { withFileTypes: true })).find((e) => e.isDirectory())!.name
  return { result, jobDir, trialDir: path.join(jobDir, trial), seconds: (Date.now() - started) / 1000 }
}

describe('the fake harbor of the load tests', () => {
  it("writes a job directory that Harbor's own models load, with the outcome our parser expects", async () => {
    const { jobDir, trialDir, seconds } = await fakeRun('pass', 'load/d1.5-r4')
    const validated = await execa(
      path.join(VENV_BIN, 'python'),
      [path.join(PROJECT_ROOT, 'test', 'load', 'validate_fake_output.py'), jobDir],
      { env: { LITELLM_LOCAL_MODEL_COST_MAP: 'True' } },
    )
    expect(validated.stdout).toMatch(/^ok job .* rewards \{'reward': 1\.0\}$/m)
    const outcome = outcomeFromTrialResult(
      parseTrialResultJson(await readFile(path.join(trialDir, 'result.json'), 'utf8')),
    )
    expect(outcome).toMatchObject({ outcome: 'passed', reward: 1 })
    // 1.5 s at 4 lines a second: 6 lines, each with the time it was written.
    const lines = (await readFile(path.join(trialDir, 'agent', 'oracle.txt'), 'utf8')).trim().split('\n')
    expect(lines).toHaveLength(6)
    expect(lines[5]).toMatch(/^load line 6\/6 t=\d{13}$/)
    expect(seconds).toBeGreaterThanOrEqual(1.5)
    const events = (await readFile(path.join(jobDir, 'harbor-runner-events.jsonl'), 'utf8')).trim().split('\n')
    expect(events.map((e) => JSON.parse(e).event)).toEqual([
      'trial_started',
      'environment_started',
      'agent_setup_started',
      'agent_started',
      'agent_ended',
      'verification_started',
      'trial_ended',
    ])
  })

  it('fails the verifier when asked, and answers --version like the pinned Harbor', async () => {
    const { trialDir } = await fakeRun('fail', 'load/d0.2-r5-fail')
    const outcome = outcomeFromTrialResult(
      parseTrialResultJson(await readFile(path.join(trialDir, 'result.json'), 'utf8')),
    )
    expect(outcome).toMatchObject({ outcome: 'failed', reward: 0 })
    const requirements = await readFile(path.join(PROJECT_ROOT, 'python-requirements.txt'), 'utf8')
    const pinned = /^harbor==(\S+)$/m.exec(requirements)![1]
    expect((await execa(FAKE, ['--version'])).stdout.trim()).toBe(pinned)
  })
})
