/**
 * Guards against a Harbor upgrade that changes its output: regenerates a sample of the fixture
 * corpus with the installed Harbor and checks that the parser reads it exactly as it reads the
 * committed fixtures (made by the same script).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import { afterAll, expect, it } from 'vitest'
import {
  outcomeFromTrialResult,
  outcomeWithoutTrialResult,
  parseTrialResultJson,
} from '../../src/harness/harbor/result.js'
import { PROJECT_ROOT, VENV_BIN } from '../../src/paths.js'

const COMMITTED = path.join(PROJECT_ROOT, 'test', 'fixtures', 'harbor-output')
const CASES = ['passed', 'failed', 'verifier-error', 'environment-start-error', 'harness-crash']
let out: string | null = null
afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true })
})

/** The outcome our parser reads from a fixture case directory, without timestamps. */
async function outcomeOf(caseDir: string) {
  const trial = (await readdir(caseDir)).find((e) => e.includes('__'))
  const result = trial ? await readFile(path.join(caseDir, trial, 'result.json'), 'utf8').catch(() => null) : null
  const outcome = result
    ? outcomeFromTrialResult(parseTrialResultJson(result))
    : outcomeWithoutTrialResult(
        Number(await readFile(path.join(caseDir, 'exit-code.txt'), 'utf8')),
        await readFile(path.join(caseDir, 'harness.stderr.txt'), 'utf8'),
        await readFile(path.join(caseDir, 'harness.stdout.txt'), 'utf8'),
      )
  const { phases: _phases, error_message, ...rest } = outcome
  // Messages name paths and generated trial names, and show tracebacks the way each Python version
  // does; their exception (the last line) is what must agree.
  const exception = error_message?.split('\n').at(-1)
  return { ...rest, error_message: exception?.replace(/\/\S+/g, '<path>').replace(/__\w{7}/g, '__<id>') ?? null }
}

it('reads freshly generated Harbor output as it reads the committed fixtures', async () => {
  out = await mkdtemp(path.join(os.tmpdir(), 'hr-harbor-sample-'))
  const run = await execa(
    path.join(PROJECT_ROOT, 'test', 'harbor-env', 'regenerate-sample.sh'),
    [path.join(VENV_BIN, 'harbor'), out, ...CASES],
    {
      reject: false,
    },
  )
  expect(run.exitCode, run.stderr).toBe(0)
  for (const name of CASES) {
    expect({ name, ...(await outcomeOf(path.join(out, name))) }).toEqual({
      name,
      ...(await outcomeOf(path.join(COMMITTED, name))),
    })
  }
}, 120_000)
