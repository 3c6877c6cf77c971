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
import { classifyByPhase, harborErrorClassOf, harborExitErrorClass } from '../../outcomes/harbor.js'
import { invalidatesReward } from '../../outcomes/retry.js'
import { usefulTail } from '../stderr-tail.js'
import { parseJsonDocument } from '../json-document.js'
import {
  errorOutcome,
  PASS_MARK,
  type AttemptOutcome,
  type PhaseSpan,
  type PhaseTimings,
  type TestCounts,
} from '../../shared/outcome.js'

const Span = z.object({ started_at: z.string().nullish(), finished_at: z.string().nullish() }).nullish()

const Usage = z
  .object({
    n_input_tokens: z.number().nullish(),
    n_cache_tokens: z.number().nullish(),
    n_output_tokens: z.number().nullish(),
    cost_usd: z.number().nullish(),
  })
  .nullish()

const Rewards = z.object({ rewards: z.record(z.string(), z.number()).nullish() }).nullish()

const ExceptionInfo = z
  .object({
    exception_type: z.string(),
    exception_message: z.string().nullish(),
    // Harbor ≥ 0.26 records its own verdict on the exception.
    policy: z.object({ has_valid_reward: z.boolean() }).nullish(),
  })
  .nullish()

/** The fields of Harbor's `TrialResult` we read; everything else is kept raw, not interpreted. */
export const TrialResultSchema = z.object({
  trial_name: z.string(),
  task_name: z.string().nullish(),
  agent_result: Usage,
  verifier_result: Rewards,
  /** Harbor ≥ 0.26: rewards exist and no recorded exception makes them meaningless. */
  reward_valid: z.boolean().nullish(),
  exception_info: ExceptionInfo,
  started_at: z.string().nullish(),
  finished_at: z.string().nullish(),
  environment_setup: Span,
  agent_setup: Span,
  agent_execution: Span,
  verifier: Span,
  step_results: z
    .array(z.object({ agent_result: Usage, verifier_result: Rewards, exception_info: ExceptionInfo }))
    .nullish(),
})
export type TrialResult = z.infer<typeof TrialResultSchema>
type RecordedException = NonNullable<z.infer<typeof ExceptionInfo>>

export class UnreadableResultError extends Error {
  override name = 'UnreadableResultError'
}

export function parseTrialResultJson(text: string): TrialResult {
  return parseJsonDocument(
    text,
    TrialResultSchema,
    { what: 'trial result.json', shape: "Harbor's TrialResult" },
    (message) => new UnreadableResultError(message),
  )
}

/**
 * The attempt's outcome from its trial result:
 * - rewards that are valid → `passed` or `failed` by the pass mark, any exception recorded beside;
 * - rewards made meaningless by an exception (a rate limit mid-run, a verifier that broke), or no
 *   rewards at all → `error`, classed by the exception (Harbor's table, src/outcomes/harbor.ts), else by the phase
 *   that was under way;
 * - neither rewards nor an exception → a `verifier` error.
 * `tests` are the verifier's test counts when it wrote a CTRF report.
 */
export function outcomeFromTrialResult(result: TrialResult, tests: TestCounts | null = null): AttemptOutcome {
  const phases = phaseTimings(result)
  const usage = usageOf(result)
  const exceptions = [result.exception_info, ...(result.step_results ?? []).map((s) => s.exception_info)].filter(
    (e): e is RecordedException => Boolean(e),
  )
  const first = exceptions[0] ?? null
  const rewards = rewardsOf(result)
  const rewardValid = rewards !== null && (result.reward_valid ?? exceptions.every(keepsRewardValid))

  if (rewards && rewardValid) {
    const reward = primaryReward(rewards)
    return {
      outcome: passes(rewards) ? 'passed' : 'failed',
      error_class: null,
      error_message: first ? describeException(first) : null,
      exception_type: first?.exception_type ?? null,
      reward,
      rewards,
      ...usage,
      phases,
      tests,
    }
  }
  if (first) {
    const culprit = exceptions.find((e) => !keepsRewardValid(e)) ?? first
    return {
      ...errorOutcome(
        harborErrorClassOf(culprit.exception_type) ?? classifyByPhase(phases),
        describeException(culprit),
        culprit.exception_type,
      ),
      rewards,
      ...usage,
      phases,
      tests,
    }
  }
  return {
    ...errorOutcome('verifier', 'the trial ended without an exception and without a reward'),
    ...usage,
    phases,
    tests,
  }
}

/** Whether an exception leaves the rewards meaningful: Harbor's own verdict, else our table. */
function keepsRewardValid(e: RecordedException): boolean {
  if (e.policy) return e.policy.has_valid_reward
  const cls = harborErrorClassOf(e.exception_type)
  return cls === null || !invalidatesReward(cls)
}

/** The trial's rewards; a multi-step trial without trial-level rewards takes its last step's. */
function rewardsOf(result: TrialResult): Record<string, number> | null {
  const candidates = [
    result.verifier_result?.rewards,
    ...(result.step_results ?? []).map((s) => s.verifier_result?.rewards).reverse(),
  ]
  const found = candidates.find((r) => r && Object.keys(r).length > 0)
  return found ?? null
}

/** Tokens and cost, summed over the steps of a multi-step trial; unknown stays null. */
function usageOf(result: TrialResult) {
  const contexts = result.agent_result ? [result.agent_result] : (result.step_results ?? []).map((s) => s.agent_result)
  const sum = (key: 'n_input_tokens' | 'n_cache_tokens' | 'n_output_tokens' | 'cost_usd') => {
    const known = contexts.map((c) => c?.[key]).filter((v): v is number => typeof v === 'number')
    return known.length > 0 ? known.reduce((a, b) => a + b, 0) : null
  }
  return {
    n_input_tokens: sum('n_input_tokens'),
    n_cache_tokens: sum('n_cache_tokens'),
    n_output_tokens: sum('n_output_tokens'),
    cost_usd: sum('cost_usd'),
  }
}

/** `reward` when present, else the only key's value, else the mean of all keys (for the mean metric). */
export function primaryReward(rewards: Record<string, number>): number | null {
  if ('reward' in rewards) return rewards.reward ?? null
  const values = Object.values(rewards)
  if (values.length === 0) return null
  return values.reduce((a, b) => a + b, 0) / values.length
}

/**
 * The pass mark: `reward` (or a single key) must reach 1; multi-key rewards without a `reward` key
 * pass only when every key does.
 */
export function passes(rewards: Record<string, number>): boolean {
  if ('reward' in rewards) return (rewards.reward ?? 0) >= PASS_MARK
  const values = Object.values(rewards)
  return values.length > 0 && values.every((v) => v >= PASS_MARK)
}

function describeException(e: RecordedException): string {
  const text = (e.exception_message ?? '').trim()
  return text ? `${e.exception_type}: ${text}` : e.exception_type
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
  return errorOutcome(
    harborExitErrorClass(tail),
    tail ? `${status}: ${tail.trimStart()}` : `${status} and wrote no trial result`,
  )
}
