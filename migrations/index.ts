/**
 * Every migration, by name, in order. Listed statically (not discovered on disk at run time) so that
 * the same code runs under tsx, vitest and a bundler; a test checks that no file is missing here.
 */
import type { Migration } from 'kysely'
import * as createJobs from './2026_11_29_000100_create_jobs.js'
import * as createRuns from './2026_11_29_000200_create_runs.js'
import * as createRunLogs from './2026_11_29_000300_create_run_logs.js'
import * as addTestCounts from './2026_11_29_000400_add_test_counts.js'
import * as addRunTimeLimit from './2026_11_29_000500_add_run_time_limit.js'
import * as createHosts from './2026_11_29_000600_create_hosts.js'
import * as createApiTokens from './2026_11_29_000700_create_api_tokens.js'
import * as notifyApiTokenChanges from './2026_11_29_000800_notify_api_token_changes.js'
import * as placeAttemptFunction from './2026_12_06_000100_place_attempt_function.js'
import * as indexJobsTaskSha256 from './2026_12_06_000200_index_jobs_task_sha256.js'
import * as addRunLogLinePhase from './2026_12_06_001000_add_run_log_line_phase.js'
import * as dropJobsHarnessCheck from './2026_12_06_001100_drop_jobs_harness_check.js'
import * as createJobTasks from './2026_12_06_002000_create_job_tasks.js'
import * as addJobControl from './2026_12_06_002100_add_job_control.js'

export const migrations: Record<string, Migration> = {
  '2026_11_29_000100_create_jobs': createJobs,
  '2026_11_29_000200_create_runs': createRuns,
  '2026_11_29_000300_create_run_logs': createRunLogs,
  '2026_11_29_000400_add_test_counts': addTestCounts,
  '2026_11_29_000500_add_run_time_limit': addRunTimeLimit,
  '2026_11_29_000600_create_hosts': createHosts,
  '2026_11_29_000700_create_api_tokens': createApiTokens,
  '2026_11_29_000800_notify_api_token_changes': notifyApiTokenChanges,
  '2026_12_06_000100_place_attempt_function': placeAttemptFunction,
  '2026_12_06_000200_index_jobs_task_sha256': indexJobsTaskSha256,
  '2026_12_06_001000_add_run_log_line_phase': addRunLogLinePhase,
  '2026_12_06_001100_drop_jobs_harness_check': dropJobsHarnessCheck,
  '2026_12_06_002000_create_job_tasks': createJobTasks,
  '2026_12_06_002100_add_job_control': addJobControl,
}
