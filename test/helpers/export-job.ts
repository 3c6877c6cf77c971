/**
 * A Harbor-harness job with a run of every kind, its attempts' results and collected output made
 * from the real Harbor output of test/fixtures/harbor-output/: what the Harbor export is tested on.
 */
import type { HarborJobInput } from '../../src/export/harbor-job.js'
import type { ExportAttempt, ExportRun } from '../../src/export/input.js'
import { collectFixture, exportAttempt, exportJob, exportRun, exportTask, fixtureTrialResult } from './export-inputs.js'

/** What each run of {@link harborJobWithEveryKindOfRun} is. */
export const RUNS = {
  passed: 1,
  failed: 2,
  /** An infra error on the first attempt, passed on the second. */
  retriedPassed: 3,
  /** A rate limit with a reward Harbor says is not valid. */
  rateLimited: 4,
  /** Cancelled while the agent ran: Harbor's own `CancelledError`. */
  cancelled: 5,
  /** The harness was lost: no result of Harbor's, its output as far as it got. */
  lost: 6,
  /** Cancelled before it started. */
  neverStarted: 7,
  running: 8,
  queued: 9,
} as const

/** The key our stored results must never show, planted where Harbor would save it. */
export const PLANTED_KEY = 'sk-or-v1-planted-0123456789abcdef'

export async function harborJobWithEveryKindOfRun(artifactsDir: string): Promise<HarborJobInput> {
  const job = exportJob({ n_runs: 9, runs_per_task: 9, status: 'completed' })
  const runs: ExportRun[] = []
  const attempts: ExportAttempt[] = []
  const stored = async (runNumber: number, attempt: number, fixture: string, run: ExportRun) => {
    await collectFixture(artifactsDir, job.id, runNumber, attempt, fixture)
    attempts.push(exportAttempt(run, { attempt, result: await fixtureTrialResult(fixture) }))
  }
  const add = (run: ExportRun) => (runs.push(run), run)

  await stored(1, 1, 'passed', add(exportRun(job, RUNS.passed)))
  await stored(
    2,
    1,
    'failed',
    add(exportRun(job, RUNS.failed, { outcome: 'failed', reward: 0, rewards: { reward: 0 } })),
  )
  const retried = add(exportRun(job, RUNS.retriedPassed, { attempts: 2 }))
  await stored(3, 1, 'environment-start-error', retried)
  await stored(3, 2, 'passed', retried)
  const limited = exportRun(job, RUNS.rateLimited, {
    outcome: 'error',
    error_class: 'provider',
    error_message: 'RateLimitError: …',
    reward: 0,
    rewards: { reward: 0 },
  })
  await stored(4, 1, 'provider-rate-limit', add(limited))
  const leaky = (await fixtureTrialResult('provider-rate-limit')) as { config: { agent: Record<string, unknown> } }
  leaky.config.agent['env'] = { OPENROUTER_API_KEY: PLANTED_KEY }
  leaky.config.agent['kwargs'] = { llm_kwargs: { api_key: PLANTED_KEY, temperature: 0 } }
  attempts[attempts.length - 1]!.result = leaky
  const cancelled = exportRun(job, RUNS.cancelled, {
    status: 'cancelled',
    outcome: null,
    reward: null,
    rewards: null,
  })
  await stored(5, 1, 'cancelled', add(cancelled))
  const lost = add(
    exportRun(job, RUNS.lost, {
      outcome: 'error',
      error_class: 'infra',
      error_message: 'the harness on local ended without an exit status',
      reward: null,
      rewards: null,
    }),
  )
  await collectFixture(artifactsDir, job.id, RUNS.lost, 1, 'harness-crash')
  attempts.push(exportAttempt(lost, { outcome: 'error', error_class: 'infra' }))
  add(
    exportRun(job, RUNS.neverStarted, {
      status: 'cancelled',
      outcome: null,
      reward: null,
      rewards: null,
      attempts: 0,
      host: null,
      started_at: null,
    }),
  )
  const unfinished = { outcome: null, reward: null, rewards: null, finished_at: null }
  add(exportRun(job, RUNS.running, { status: 'running', ...unfinished }))
  add(exportRun(job, RUNS.queued, { status: 'queued', ...unfinished, attempts: 0, started_at: null }))
  return { job, tasks: [exportTask({ name: 'hello-pass' })], runs, attempts }
}
