/**
 * The fake tb (test/fake-tb) against Terminal-Bench's own models: one run of tb-hello with the oracle,
 * with our command line and environment, whose every file is loaded back by `terminal_bench` 0.2.18 in
 * a Python subprocess (test/fake-tb/validate_tb_run.py). A change of TB's format fails here.
 */
import { existsSync, statSync } from 'node:fs'
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import { afterAll, describe, expect, it } from 'vitest'
import { tbAttemptLayout, tbHarnessEnvironment, tbRunArgv } from '../../src/harness/terminus/command.js'
import { outcomeFromTbResults, parseTbResultsJson } from '../../src/harness/terminus/result.js'
import { PROJECT_ROOT, VENV_BIN } from '../../src/paths.js'

const FAKE_TB = path.join(PROJECT_ROOT, 'test', 'fake-tb', 'tb')
const VALIDATOR = path.join(PROJECT_ROOT, 'test', 'fake-tb', 'validate_tb_run.py')
const TASK = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'tb-hello')
const PYTHON = path.join(VENV_BIN, 'python')

const tmpDirs: string[] = []
afterAll(async () => {
  await Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true })))
})

describe('fake tb', () => {
  it('runs tb-hello like tb run 0.2.18: files valid for TB, session log growing live, outcome passed', async () => {
    const check = await execa(PYTHON, ['-c', 'import terminal_bench'], { reject: false })
    expect(check.exitCode, 'terminal-bench==0.2.18 must be installed in .venv (npm run setup)').toBe(0)

    const tmp = await mkdtemp(path.join(os.tmpdir(), 'hr-fake-tb-'))
    tmpDirs.push(tmp)
    const runId = 'fake-tb-check'
    const layout = tbAttemptLayout(path.join(tmp, 'attempt-1'), 'tb-hello', runId)
    await cp(TASK, layout.task, { recursive: true })
    const argv = tbRunArgv({
      tbBin: FAKE_TB,
      datasetPath: layout.dataset,
      taskId: 'tb-hello',
      agent: 'oracle',
      model: null,
      outputPath: layout.output,
      runId,
      timeoutMultiplier: 1,
    })
    const searchPath = `${VENV_BIN}${path.delimiter}${process.env.PATH ?? ''}`
    const env = {
      ...tbHarnessEnvironment({
        path: searchPath,
        home: tmp,
        pythonPath: null,
        localCostMap: true,
        openRouterBaseUrl: null,
      }),
      PYTHONDONTWRITEBYTECODE: '1',
    }
    const child = execa(argv[0]!, argv.slice(1), { env, extendEnv: false, cwd: tmp, reject: false })

    // The agent's tmux session log grows while the solution prints, before tb exits.
    const sessionLog = path.join(layout.trialDir, 'sessions', 'agent.log')
    const sizesWhileRunning = new Set<number>()
    let running = true
    void child.finally(() => {
      running = false
    })
    while (running) {
      if (existsSync(sessionLog)) sizesWhileRunning.add(statSync(sessionLog).size)
      await new Promise((r) => setTimeout(r, 100))
    }
    const result = await child
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/^Starting harness run\nRun ID: fake-tb-check$/m)
    expect(result.stdout).toContain(`Results written to ${layout.results}`)
    expect([...sizesWhileRunning].filter((s) => s > 0).length).toBeGreaterThanOrEqual(3)

    const validated = await execa(PYTHON, [VALIDATOR, layout.runDir, layout.task], {
      env: { PATH: searchPath, HOME: tmp, LITELLM_LOCAL_MODEL_COST_MAP: 'True', PYTHONDONTWRITEBYTECODE: '1' },
      extendEnv: false,
      reject: false,
    })
    expect(validated.exitCode, validated.stderr).toBe(0)
    const summary = JSON.parse(validated.stdout) as {
      run_files: string[]
      agent_name: string
      trials: { trial_name: string; is_resolved: boolean; failure_mode: string; files: string[]; commands: unknown[] }[]
    }
    expect(summary.run_files).toEqual(['results.json', 'run.log', 'run_metadata.json', 'tb.lock'])
    expect(summary.agent_name).toBe('oracle')
    expect(summary.trials).toHaveLength(1)
    expect(summary.trials[0]).toMatchObject({
      trial_name: 'tb-hello.1-of-1.fake-tb-check',
      is_resolved: true,
      failure_mode: 'unset',
      files: [
        'commands.txt',
        'panes/post-agent.txt',
        'panes/post-test.txt',
        'panes/pre-agent.txt',
        'results.json',
        'sessions/agent.cast',
        'sessions/agent.log',
        'sessions/tests.cast',
        'sessions/tests.log',
      ],
    })
    expect(summary.trials[0]!.commands).toContainEqual(['bash /oracle/solution.sh', 'Enter'])
    expect(summary.trials[0]!.commands).toContainEqual(['bash ', '/tests/run-tests.sh', 'Enter'])

    const log = await readFile(layout.runLog, 'utf8')
    expect(await readFile(sessionLog, 'utf8')).toMatch(/solve step 1\/4\nsolve step 2\/4\n/)
    const outcome = outcomeFromTbResults(parseTbResultsJson(await readFile(layout.results, 'utf8')), log)
    expect(outcome).toMatchObject({ outcome: 'passed', reward: 1, tests: { total: 2, passed: 2 } })
  }, 240_000)
})
