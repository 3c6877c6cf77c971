/**
 * Builders of what the exports are made from (src/export/input.ts), and of an attempt's collected
 * output made from the real Harbor job directories of test/fixtures/harbor-output/, laid out as
 * the service collects them (`<artifacts>/<job>/run-<n>/attempt-<a>/jobs/<Harbor job>/…`).
 */
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { ExportAttempt, ExportJob, ExportRun, ExportTask } from '../../src/export/input.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { artifactAttemptDir, harnessJobName } from '../../src/shared/ids.js'

export const HARBOR_OUTPUT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'harbor-output')

/** A UUID that says what it is for: `n` in its last group. */
export function uuidOf(prefix: string, n: number): string {
  return `${prefix.padEnd(8, '0').slice(0, 8)}-0000-4000-8000-${String(n).padStart(12, '0')}`
}

export function exportJob(overrides: Partial<ExportJob> = {}): ExportJob {
  return {
    id: uuidOf('0b0b', 1),
    status: 'completed',
    task_name: 'hello-pass',
    n_tasks: 1,
    harness: 'harbor',
    agent: 'oracle',
    model: 'openai/gpt-4o',
    agent_without_model: true,
    environment: 'docker',
    n_runs: 3,
    runs_per_task: 3,
    max_parallel: 2,
    timeout_multiplier: 1,
    created_at: new Date('2026-11-29T05:00:00Z'),
    started_at: new Date('2026-11-29T05:00:01Z'),
    finished_at: new Date('2026-11-29T06:00:00Z'),
    ...overrides,
  }
}

export function exportTask(overrides: Partial<ExportTask> = {}): ExportTask {
  return { index: 0, name: 'hello-pass', format: 'harbor', sha256: 'ab'.repeat(32), ...overrides }
}

export function exportRun(job: ExportJob, runNumber: number, overrides: Partial<ExportRun> = {}): ExportRun {
  return {
    id: uuidOf('a0a0', runNumber),
    job_id: job.id,
    task_index: 0,
    run_number: runNumber,
    status: 'completed',
    outcome: 'passed',
    error_class: null,
    error_message: null,
    reward: 1,
    rewards: { reward: 1 },
    n_input_tokens: null,
    n_cache_tokens: null,
    n_output_tokens: null,
    cost_usd: null,
    tests: null,
    attempts: 1,
    host: 'local',
    phase: null,
    created_at: new Date('2026-11-29T05:00:00Z'),
    updated_at: new Date('2026-11-29T05:10:00Z'),
    started_at: new Date('2026-11-29T05:00:02Z'),
    finished_at: new Date('2026-11-29T05:00:32.5Z'),
    ...overrides,
  }
}

export function exportAttempt(run: ExportRun, overrides: Partial<ExportAttempt> = {}): ExportAttempt {
  return {
    run_id: run.id,
    attempt: run.attempts,
    host: 'local',
    outcome: run.outcome,
    error_class: run.error_class,
    error_message: run.error_message,
    phases: null,
    result: null,
    started_at: run.started_at ?? run.created_at,
    finished_at: run.finished_at,
    ...overrides,
  }
}

/** The fixture case's trial directory name (`<task>__<id>`), if Harbor made one. */
export async function fixtureTrialName(fixture: string): Promise<string | null> {
  return (await readdir(path.join(HARBOR_OUTPUT, fixture))).find((e) => e.includes('__')) ?? null
}

/** The `result.json` Harbor wrote for the fixture case's trial, as the service stores it. */
export async function fixtureTrialResult(fixture: string): Promise<object> {
  const trial = await fixtureTrialName(fixture)
  return JSON.parse(await readFile(path.join(HARBOR_OUTPUT, fixture, trial!, 'result.json'), 'utf8')) as object
}

/**
 * The fixture case's Harbor job directory as the collected output of one attempt, with the
 * harness's stderr beside it as the service keeps it. Returns the attempt's directory.
 */
export async function collectFixture(
  artifactsDir: string,
  jobId: string,
  runNumber: number,
  attempt: number,
  fixture: string,
): Promise<string> {
  const dir = path.join(artifactsDir, artifactAttemptDir(jobId, runNumber, attempt))
  const jobDir = path.join(dir, 'jobs', harnessJobName(jobId, runNumber, attempt))
  await mkdir(jobDir, { recursive: true })
  await cp(path.join(HARBOR_OUTPUT, fixture), jobDir, { recursive: true })
  await writeFile(path.join(dir, 'harness.stderr.txt'), `stderr of ${fixture}\n`)
  return dir
}
