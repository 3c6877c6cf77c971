/** What one upload, job, token, run log and attempt's output may take, and the task sandbox policy. */
import { z } from 'zod'
import { COMPOSE_RULES, type ComposeRule } from '../shared/compose-rules.js'
import { bytes, positiveInt, type EnvOf } from './common.js'

/** A comma-separated list of the task sandbox policy's rule names. */
const composeRules = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.enum(COMPOSE_RULES, {
        error: (issue) => `unknown rule ${JSON.stringify(issue.input)} (the rules: ${COMPOSE_RULES.join(', ')})`,
      }),
    ),
  )

export const limitsEnv = {
  UPLOAD_MAX_BYTES: bytes.default(100 * 1024 * 1024),
  UPLOAD_MAX_ENTRIES: positiveInt.default(5000),
  UPLOAD_MAX_UNCOMPRESSED_BYTES: bytes.default(1024 * 1024 * 1024),
  UPLOAD_MAX_COMPRESSION_RATIO: positiveInt.default(200),
  DATASET_MAX_TASKS: positiveInt.default(500),
  MAX_RUNS_PER_JOB: positiveInt.default(1000),
  MAX_ACTIVE_JOBS_PER_TOKEN: positiveInt.default(50),
  MAX_ACTIVE_RUNS_PER_TOKEN: positiveInt.default(5000),
  MAX_LOG_BYTES_PER_RUN: bytes.default(50 * 1024 * 1024),
  MAX_LOG_LINE_CHARS: positiveInt.default(16 * 1024),
  ARTIFACT_MAX_BYTES: bytes.default(256 * 1024 * 1024),
  ARTIFACT_MAX_FILES: positiveInt.default(10_000),
  MAX_REQUEST_BODY_BYTES: bytes.default(64 * 1024),
  TASK_COMPOSE_ALLOW: composeRules,
  MAX_STREAMS_PER_TOKEN: positiveInt.default(20),
  MAX_UPLOADS_PER_TOKEN: positiveInt.default(4),
}

export interface LimitsConfig {
  readonly uploadBytes: number
  readonly uploadEntries: number
  readonly uploadUncompressedBytes: number
  /** Most times one entry (of 1 MiB or more) may expand its compressed size: past it, a zip bomb. */
  readonly uploadCompressionRatio: number
  /** Most tasks one uploaded dataset may hold. */
  readonly tasksPerDataset: number
  readonly runsPerJob: number
  /** Jobs and runs not yet ended, per token. */
  readonly activeJobsPerToken: number
  readonly activeRunsPerToken: number
  /** Log kept per run; past it, a marker line and nothing more. */
  readonly logBytesPerRun: number
  /** Characters kept of one log line; past it, a marker. */
  readonly logLineChars: number
  /** What is collected of one attempt's output: bytes of files, and entries looked at (past it, a marker). */
  readonly artifactBytes: number
  readonly artifactFiles: number
  /** Request bodies of every route but the upload. */
  readonly requestBodyBytes: number
  /** Event streams open at once per token, and uploads under way, in each API process. */
  readonly streamsPerToken: number
  readonly uploadsPerToken: number
}

/** The task sandbox policy for the compose files tasks bring (docs/task-sandbox-policy.md). */
export interface TasksConfig {
  /** Rules relaxed for this deployment (TASK_COMPOSE_ALLOW); empty, the default: every rule applies. */
  readonly composeAllow: readonly ComposeRule[]
}

export function limitsConfig(e: EnvOf<typeof limitsEnv>): { limits: LimitsConfig; tasks: TasksConfig } {
  return {
    limits: {
      uploadBytes: e.UPLOAD_MAX_BYTES,
      uploadEntries: e.UPLOAD_MAX_ENTRIES,
      uploadUncompressedBytes: e.UPLOAD_MAX_UNCOMPRESSED_BYTES,
      uploadCompressionRatio: e.UPLOAD_MAX_COMPRESSION_RATIO,
      tasksPerDataset: e.DATASET_MAX_TASKS,
      runsPerJob: e.MAX_RUNS_PER_JOB,
      activeJobsPerToken: e.MAX_ACTIVE_JOBS_PER_TOKEN,
      activeRunsPerToken: e.MAX_ACTIVE_RUNS_PER_TOKEN,
      logBytesPerRun: e.MAX_LOG_BYTES_PER_RUN,
      logLineChars: e.MAX_LOG_LINE_CHARS,
      artifactBytes: e.ARTIFACT_MAX_BYTES,
      artifactFiles: e.ARTIFACT_MAX_FILES,
      requestBodyBytes: e.MAX_REQUEST_BODY_BYTES,
      streamsPerToken: e.MAX_STREAMS_PER_TOKEN,
      uploadsPerToken: e.MAX_UPLOADS_PER_TOKEN,
    },
    tasks: { composeAllow: [...new Set(e.TASK_COMPOSE_ALLOW)] },
  }
}
