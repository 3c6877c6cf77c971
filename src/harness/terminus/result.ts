/**
 * Turns what Terminal-Bench 1 (`tb run`, PyPI `terminal-bench` 0.2.18) left behind for one trial into
 * an {@link AttemptOutcome}. Pure.
 *
 * `tb run` exits 0 whenever it got as far as running the trial, however the trial went, so the truth
 * is the run's `results.json` (TB's `BenchmarkResults`, one `TrialResults` per trial): `is_resolved`
 * (every test the task's parser found passed), `failure_mode`, `parser_results`, token totals and six
 * timestamps. It is the run-level file that is read, not the trial's own `results.json`: TB writes the
 * latter only when the trial got through its own checks, and leaves it out when the trial failed
 * around them (no Docker daemon, a failed image build).
 *
 * TB's semantics, from `harness.py` `_run_trial`, that the mapping below rests on:
 * - The tests always run after the agent, whatever became of it (timeout, crash, model errors), and
 *   `is_resolved` comes from the test output alone. So an agent timeout can sit beside a resolved
 *   trial, and a model that was never reachable beside a failed one.
 * - A success leaves `failure_mode` at `unset` (TB never sets `none` on a trial).
 * - `test_timeout` and `parse_error` leave `is_resolved` null: the tests produced no verdict.
 * - An exception outside the agent and the tests (Docker, the image build, tmux missing in the
 *   image, the agent's constructor) becomes `unknown_agent_error` with every timestamp null.
 * - Model errors are not told apart: LiteLLM's authentication, unknown-model, rate-limit and quota
 *   errors all end as `unknown_agent_error`. What the model said is only in the run's log, as the
 *   agent's last error line (e.g. `Error in LLM interaction: litellm.AuthenticationError: …` or
 *   `… RetryError[<Future … raised BadRequestError>]`), so the log is read for it.
 *
 * The failure's class comes from TB's table (src/outcomes/terminus.ts: each failure mode, and the
 * LiteLLM error behind an `unknown_agent_error`); `unset`, `none` and `unknown` are no failure. A
 * trial with a test verdict keeps it (`passed` or `failed`, the failure recorded beside) unless the
 * failure's class makes the verdict meaningless (`invalidatesReward`: every class but `agent`, so a
 * provider's or the host's failure is an error even beside a verdict).
 *
 * Without a verdict and without a failure mode the harness is at fault (`harness`).
 * `reward` is 1 (resolved) or 0; `tests` counts `parser_results` (TB folds skipped and xfail into
 * passed). TB records no cost (`cost_usd` stays null) and no cached-token count.
 */
import { z } from 'zod'
import {
  errorOutcome,
  PASS_MARK,
  type AttemptOutcome,
  type PhaseSpan,
  type PhaseTimings,
  type TestCounts,
} from '../../shared/outcome.js'
import type { ErrorClass } from '../../shared/status.js'
import { LITELLM_EXCEPTIONS } from '../../outcomes/litellm.js'
import { invalidatesReward } from '../../outcomes/retry.js'
import {
  TB_FAILURE_MODE_CLASSES,
  tbExitErrorClass,
  tbModelErrorClass,
  unknownAgentErrorClass,
} from '../../outcomes/terminus.js'
import { usefulTail } from '../stderr-tail.js'
import { parseJsonDocument } from '../json-document.js'

/** TB 0.2.18's `FailureMode` values (`terminal_bench/agents/failure_mode.py`). */
export const TB_FAILURE_MODES = [
  'unset',
  'none',
  'unknown',
  'test_timeout',
  'agent_timeout',
  'unknown_agent_error',
  'parse_error',
  'fatal_llm_parse_error',
  'context_length_exceeded',
  'output_length_exceeded',
  'agent_installation_failed',
] as const
export type TbFailureMode = (typeof TB_FAILURE_MODES)[number]

const Timestamp = z.string().nullish()

/** The fields of TB's `TrialResults` we read; everything else is left alone. */
export const TbTrialResultsSchema = z.object({
  trial_name: z.string(),
  task_id: z.string(),
  is_resolved: z.boolean().nullish(),
  failure_mode: z.enum(TB_FAILURE_MODES),
  parser_results: z.record(z.string(), z.enum(['passed', 'failed'])).nullish(),
  total_input_tokens: z.number().int().nonnegative().nullish(),
  total_output_tokens: z.number().int().nonnegative().nullish(),
  trial_started_at: Timestamp,
  trial_ended_at: Timestamp,
  agent_started_at: Timestamp,
  agent_ended_at: Timestamp,
  test_started_at: Timestamp,
  test_ended_at: Timestamp,
})
export type TbTrialResults = z.infer<typeof TbTrialResultsSchema>

/** The fields of TB's `BenchmarkResults` (the run's `results.json`) we read. */
export const TbBenchmarkResultsSchema = z.object({ results: z.array(TbTrialResultsSchema) })
export type TbBenchmarkResults = z.infer<typeof TbBenchmarkResultsSchema>

export class UnreadableTbResultsError extends Error {
  override name = 'UnreadableTbResultsError'
}

/** Parses the run's `results.json`; throws {@link UnreadableTbResultsError} when it is not TB's. */
export function parseTbResultsJson(text: string): TbBenchmarkResults {
  return parseJsonDocument(
    text,
    TbBenchmarkResultsSchema,
    { what: 'tb results.json', shape: 'BenchmarkResults' },
    (message) => new UnreadableTbResultsError(message),
  )
}

/**
 * The outcome of a run's only trial. `log` is the run's `run.log` (or tb's stderr, which carries the
 * same lines from INFO up): it names the model error behind an `unknown_agent_error`, and gives the
 * exact wording of timeouts and crashes. A results file without a trial is a harness error.
 */
export function outcomeFromTbResults(results: TbBenchmarkResults, log = ''): AttemptOutcome {
  const trial = results.results.at(-1)
  if (!trial) return errorOutcome('harness', 'tb wrote a results.json without any trial')
  return outcomeFromTbTrial(trial, log)
}

const UNSET_MODES: ReadonlySet<TbFailureMode> = new Set(['unset', 'none', 'unknown'])

/** The outcome of one trial (see the table above); `log` as for {@link outcomeFromTbResults}. */
export function outcomeFromTbTrial(trial: TbTrialResults, log = ''): AttemptOutcome {
  const mode = trial.failure_mode
  const usage = {
    n_input_tokens: trial.total_input_tokens ?? null,
    n_cache_tokens: null,
    n_output_tokens: trial.total_output_tokens ?? null,
    cost_usd: null,
  }
  const phases = tbPhaseTimings(trial)
  const tests = testCounts(trial)
  const failure = UNSET_MODES.has(mode) ? null : classifyFailure(trial, log)

  const verdict = trial.is_resolved != null && trial.parser_results != null
  if (verdict && !(failure && invalidatesReward(failure.errorClass))) {
    const reward = trial.is_resolved ? 1 : 0
    return {
      outcome: reward >= PASS_MARK ? 'passed' : 'failed',
      error_class: null,
      error_message: failure?.message ?? null,
      exception_type: failure?.exceptionType ?? null,
      reward,
      rewards: { reward },
      ...usage,
      phases,
      tests,
    }
  }
  const { errorClass, message, exceptionType } = failure ?? {
    errorClass: 'harness' as const,
    message: 'the trial ended without a test verdict and without a failure mode',
    exceptionType: null,
  }
  return { ...errorOutcome(errorClass, message, exceptionType), ...usage, phases, tests }
}

interface Failure {
  errorClass: ErrorClass
  message: string
  /** The LiteLLM exception behind a model error, else TB's failure mode. */
  exceptionType: string
}

function classifyFailure(trial: TbTrialResults, log: string): Failure {
  const mode = trial.failure_mode as Exclude<TbFailureMode, 'unset' | 'none' | 'unknown'>
  if (mode === 'unknown_agent_error') {
    const model = lastModelError(log)
    if (model) {
      const message = `${mode}: the agent's model calls failed (${model.line})`
      return { errorClass: tbModelErrorClass(model.exceptionType), message, exceptionType: model.exceptionType }
    }
    const errorClass = unknownAgentErrorClass(Boolean(trial.trial_started_at))
    return { errorClass, message: describeFailure(mode, log), exceptionType: mode }
  }
  return { errorClass: TB_FAILURE_MODE_CLASSES[mode], message: describeFailure(mode, log), exceptionType: mode }
}

function testCounts(trial: TbTrialResults): TestCounts | null {
  if (!trial.parser_results) return null
  const statuses = Object.values(trial.parser_results)
  const passed = statuses.filter((s) => s === 'passed').length
  return { total: statuses.length, passed, failed: statuses.length - passed, skipped: 0, other: 0 }
}

/** What each failure mode means, with TB's own log line for it when the log has one. */
type FailureDescription = { text: string; logLine?: RegExp }
const FAILURE_DESCRIPTIONS: Record<Exclude<TbFailureMode, 'unset' | 'none'>, FailureDescription> = {
  unknown: { text: 'an unknown failure' },
  agent_timeout: {
    text: 'the agent ran past its timeout; the tests ran afterwards',
    logLine: /^Agent timed out after .*$/m,
  },
  test_timeout: { text: 'the tests ran past their timeout', logLine: /^Test command timed out after .*$/m },
  parse_error: {
    text: "the test output could not be parsed by the task's parser",
    logLine: /^Error parsing results for task .*$/m,
  },
  unknown_agent_error: {
    text: 'the agent, or the harness around it, failed',
    logLine: /^(?:Harness execution failed for |Error running agent for task ).*$/m,
  },
  fatal_llm_parse_error: { text: "the model's answers could not be parsed, attempt after attempt" },
  context_length_exceeded: { text: "the conversation outgrew the model's context window" },
  output_length_exceeded: { text: "the model's answer was cut at its maximum output length" },
  agent_installation_failed: { text: 'the agent could not be installed in the task environment' },
}

function describeFailure(mode: Exclude<TbFailureMode, 'unset' | 'none'>, log: string): string {
  const { text, logLine } = FAILURE_DESCRIPTIONS[mode]
  const line = logLine ? lastMatch(log, logLine) : null
  return line ? `${mode}: ${text} (${truncate(line, 600)})` : `${mode}: ${text}`
}

/**
 * A LiteLLM exception in one of TB's log lines: `litellm.AuthenticationError: …` when the agent logged
 * the exception itself, `RetryError[<Future at 0x… state=finished raised RateLimitError>]` when it
 * logged tenacity's wrapper after LiteLLM's retries.
 */
const MODEL_ERROR_LINE = new RegExp(
  String.raw`^.*(?:litellm\.|state=finished raised )(${LITELLM_EXCEPTIONS.join('|')})\b.*$`,
  'gm',
)

/** The last LiteLLM exception the log mentions, with its line. */
function lastModelError(log: string): { exceptionType: string; line: string } | null {
  const last = [...log.matchAll(MODEL_ERROR_LINE)].at(-1)
  if (!last?.[1]) return null
  return { exceptionType: last[1], line: truncate(last[0].trim(), 600) }
}

function lastMatch(text: string, pattern: RegExp): string | null {
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`)
  return [...text.matchAll(global)].at(-1)?.[0].trim() ?? null
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * TB's timestamps as phases: `environment_setup` is from the trial's start to the agent's (the image
 * build, the container and the tmux session), `agent_execution` the agent's run, `verifier` the tests'
 * run. TB does not time an agent setup apart from its run.
 */
export function tbPhaseTimings(trial: TbTrialResults): PhaseTimings {
  const span = (started: string | null | undefined, finished: string | null | undefined): PhaseSpan | null =>
    started || finished ? { started_at: started ?? null, finished_at: finished ?? null } : null
  return {
    environment_setup: span(trial.trial_started_at, trial.agent_started_at),
    agent_setup: null,
    agent_execution: span(trial.agent_started_at, trial.agent_ended_at),
    verifier: span(trial.test_started_at, trial.test_ended_at),
    trial: { started_at: trial.trial_started_at ?? null, finished_at: trial.trial_ended_at ?? null },
  }
}

/**
 * The outcome when `tb` left no `results.json`: it failed before any trial ended (a task id that
 * matches nothing, a task.yaml it cannot read, a bad flag: exit 1 or 2) or was killed. A harness
 * error whose message is the useful end of its stderr; an infra error when the host's Docker is at
 * fault.
 */
export function outcomeWithoutTbResults(exitCode: number | null, stderr: string, stdout = ''): AttemptOutcome {
  const tail = usefulTail(stderr) || usefulTail(stdout)
  const status = exitCode === null ? 'the harness process was lost' : `tb exited with status ${exitCode}`
  return errorOutcome(tbExitErrorClass(tail), tail ? `${status}: ${tail}` : `${status} and wrote no results.json`)
}
