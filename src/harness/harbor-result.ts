/**
 * Turns what Harbor left behind for one trial into an {@link AttemptOutcome}. Pure.
 *
 * Harbor exits 0 even when trials fail, so the truth is the trial's `result.json`: rewards in
 * `verifier_result.rewards` (from `reward.txt` or `reward.json`), the exception in `exception_info`
 * (which may sit beside rewards: an agent timeout is still verified), tokens and cost in
 * `agent_result`, and one span per phase. Without a trial result, the harness itself failed, and its
 * exit status and stderr say why.
 */
import { z } from 'zod'
import type { ErrorClass } from '../shared/status.js'
import { errorOutcome, PASS_MARK, type AttemptOutcome, type PhaseSpan, type PhaseTimings } from './outcome.js'

const Span = z
  .object({ started_at: z.string().nullish(), finished_at: z.string().nullish() })
  .nullish()

/** The fields of Harbor's `TrialResult` we read; everything else is kept raw, not interpreted. */
export const TrialResultSchema = z.object({
  trial_name: z.string(),
  task_name: z.string().nullish(),
  agent_result: z
    .object({
      n_input_tokens: z.number().nullish(),
      n_cache_tokens: z.number().nullish(),
      n_output_tokens: z.number().nullish(),
      cost_usd: z.number().nullish(),
    })
    .nullish(),
  verifier_result: z.object({ rewards: z.record(z.string(), z.number()).nullish() }).nullish(),
  exception_info: z
    .object({
      exception_type: z.string(),
      exception_message: z.string().nullish(),
    })
    .nullish(),
  started_at: z.string().nullish(),
  finished_at: z.string().nullish(),
  environment_setup: Span,
  agent_setup: Span,
  agent_execution: Span,
  verifier: Span,
})
export type TrialResult = z.infer<typeof TrialResultSchema>

export class UnreadableResultError extends Error {
  override name = 'UnreadableResultError'
}

export function parseTrialResultJson(text: string): TrialResult {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new UnreadableResultError(`trial result.json is not JSON: ${(err as Error).message}`)
  }
  const parsed = TrialResultSchema.safeParse(json)
  if (!parsed.success) {
    throw new UnreadableResultError(`trial result.json does not match Harbor's TrialResult: ${parsed.error.message}`)
  }
  return parsed.data
}

export function outcomeFromTrialResult(result: TrialResult): AttemptOutcome {
  const phases = phaseTimings(result)
  const usage = {
    n_input_tokens: result.agent_result?.n_input_tokens ?? null,
    n_cache_tokens: result.agent_result?.n_cache_tokens ?? null,
    n_output_tokens: result.agent_result?.n_output_tokens ?? null,
    cost_usd: result.agent_result?.cost_usd ?? null,
  }
  const exception = result.exception_info ?? null
  const exceptionText = exception ? describeException(exception.exception_type, exception.exception_message) : null
  const rewards = result.verifier_result?.rewards ?? null

  if (rewards && Object.keys(rewards).length > 0) {
    const reward = primaryReward(rewards)
    return {
      outcome: reward !== null && reward >= PASS_MARK ? 'passed' : 'failed',
      error_class: null,
      error_message: exceptionText,
      exception_type: exception?.exception_type ?? null,
      reward,
      rewards,
      ...usage,
      phases,
    }
  }
  if (exception) {
    return {
      ...errorOutcome(classifyException(exception.exception_type, phases), exceptionText!, exception.exception_type),
      ...usage,
      phases,
    }
  }
  return {
    ...errorOutcome('verifier', 'the trial ended without an exception and without a reward'),
    ...usage,
    phases,
  }
}

/** `reward` when present, else the only key's value, else the mean of all keys. */
export function primaryReward(rewards: Record<string, number>): number | null {
  if ('reward' in rewards) return rewards.reward ?? null
  const values = Object.values(rewards)
  if (values.length === 0) return null
  return values.reduce((a, b) => a + b, 0) / values.length
}

const PROVIDER_EXCEPTIONS = new Set([
  'AgentAuthenticationError',
  'ApiUsageLimitError',
  'ModelNotFoundError',
  'RateLimitError',
  'AuthenticationError',
  'BadRequestError',
  'ContextLengthExceededError',
  'OutputLengthExceededError',
])
const VERIFIER_EXCEPTIONS = new Set([
  'VerifierTimeoutError',
  'RewardFileNotFoundError',
  'RewardFileEmptyError',
  'VerifierOutputParseError',
])
const INFRA_EXCEPTIONS = new Set([
  'EnvironmentStartTimeoutError',
  'SandboxBuildFailedError',
  'HealthcheckError',
  'CancelledError',
])

/** Which class of error an exception recorded without rewards belongs to. */
export function classifyException(type: string, phases: PhaseTimings): ErrorClass {
  if (PROVIDER_EXCEPTIONS.has(type)) return 'provider'
  if (VERIFIER_EXCEPTIONS.has(type)) return 'verifier'
  if (INFRA_EXCEPTIONS.has(type) || /Environment|Docker|Sandbox/.test(type)) return 'infra'
  if (/^Agent|Agent/.test(type)) return 'agent'
  // Otherwise: the phase that was under way when it happened.
  const inProgress = (span: PhaseSpan | null | undefined) => Boolean(span?.started_at && !span.finished_at)
  if (!phases.environment_setup?.finished_at) return 'infra'
  if (inProgress(phases.verifier) || phases.verifier?.finished_at) return 'verifier'
  return 'agent'
}

function describeException(type: string, message: string | null | undefined): string {
  const text = (message ?? '').trim()
  return text ? `${type}: ${text}` : type
}

function phaseTimings(result: TrialResult): PhaseTimings {
  const span = (s: z.infer<typeof Span>): PhaseSpan | null =>
    s ? { started_at: s.started_at ?? null, finished_at: s.finished_at ?? null } : null
  return {
    environment_setup: span(result.environment_setup),
    agent_setup: span(result.agent_setup),
    agent_execution: span(result.agent_execution),
    verifier: span(result.verifier),
    trial: { started_at: result.started_at ?? null, finished_at: result.finished_at ?? null },
  }
}

/**
 * The outcome when the harness left no trial result: a harness error whose message is the useful
 * end of its stderr (a Python traceback's last lines), not the whole dump. Harbor prints some of its
 * own refusals (an environment class it cannot import) on stdout, so that is the fallback.
 */
export function outcomeWithoutTrialResult(exitCode: number | null, stderr: string, stdout = ''): AttemptOutcome {
  const tail = usefulTail(stderr) || usefulTail(stdout)
  const status = exitCode === null ? 'the harness process was lost' : `harbor exited with status ${exitCode}`
  // Harbor's own preflight refusing to start for lack of Docker is the host's fault, not the harness's.
  const errorClass = INFRA_STDERR.some((pattern) => pattern.test(tail)) ? 'infra' : 'harness'
  return errorOutcome(errorClass, tail ? `${status}: ${tail}` : `${status} and wrote no trial result`)
}

const INFRA_STDERR = [/Docker is not installed/i, /Docker daemon is not running/i, /No space left on device/i]

/** The last meaningful lines of a stderr dump: for a traceback, the exception line and its context. */
export function usefulTail(stderr: string, maxLines = 6, maxChars = 1500): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').trimEnd())
    .filter((l) => l.trim() !== '' && !/^[\s│╭╰─╮╯]+$/.test(l))
  const text = lines.slice(-maxLines).join('\n')
  return text.length > maxChars ? text.slice(text.length - maxChars) : text
}
