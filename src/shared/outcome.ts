/**
 * What one attempt of a run came to, whichever harness ran it (docs/product.md, "Run lifecycle and
 * outcome"). Small and JSON-safe: it travels through Temporal as an activity result.
 */
import type { ErrorClass, RunOutcome } from './status.js'

export interface PhaseSpan {
  started_at: string | null
  finished_at: string | null
}

/** Harbor's phases of a trial, as the harness recorded them. */
export interface PhaseTimings {
  environment_setup?: PhaseSpan | null
  agent_setup?: PhaseSpan | null
  agent_execution?: PhaseSpan | null
  verifier?: PhaseSpan | null
  trial?: PhaseSpan | null
}

/** The verifier's test counts, from its CTRF report (`verifier/ctrf.json`) when it wrote one. */
export interface TestCounts {
  total: number
  passed: number
  failed: number
  skipped: number
  other: number
}

export interface AttemptOutcome {
  outcome: RunOutcome
  /** Set when outcome is `error`. */
  error_class: ErrorClass | null
  /** The useful part of what went wrong: for `failed`, an agent timeout or crash recorded beside it. */
  error_message: string | null
  /** The harness's own name for the exception, e.g. `AgentTimeoutError`. */
  exception_type: string | null
  /** The pass mark's reward: `reward` of a single- or multi-key reward, else the only key's value. */
  reward: number | null
  rewards: Record<string, number> | null
  n_input_tokens: number | null
  n_cache_tokens: number | null
  n_output_tokens: number | null
  cost_usd: number | null
  phases: PhaseTimings | null
  tests: TestCounts | null
}

/** A binary reward passes at 1; a fractional one must reach it too. */
export const PASS_MARK = 1

export function errorOutcome(
  errorClass: ErrorClass,
  message: string,
  exceptionType: string | null = null,
): AttemptOutcome {
  return {
    outcome: 'error',
    error_class: errorClass,
    error_message: message,
    exception_type: exceptionType,
    reward: null,
    rewards: null,
    n_input_tokens: null,
    n_cache_tokens: null,
    n_output_tokens: null,
    cost_usd: null,
    phases: null,
    tests: null,
  }
}
