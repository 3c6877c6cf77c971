/**
 * What an attempt's error means for what comes next, in one place: which error classes are retried
 * as a new attempt, which make a reward meaningless, and the classes of the errors the service sees
 * itself rather than reads from a harness. Each harness's exception → class table is beside this
 * (harbor.ts, terminus.ts, with the LiteLLM table both share in litellm.ts), and the activity
 * failures that end an attempt at once in activity-failures.ts. Pure and deterministic: the
 * workflows import it.
 */
import type { ErrorClass } from '../shared/status.js'

/**
 * The run could not be carried out (the host, the sandbox or the harness let it down): the attempt
 * is retried as a new one, up to RUN_MAX_ATTEMPTS, and a job whose every run ends so has `failed`.
 * The other classes are final: they say something about the agent, the model or the task.
 */
export const RETRYABLE_ERROR_CLASSES: readonly ErrorClass[] = ['infra', 'harness']

export function isRetryable(errorClass: ErrorClass | null): boolean {
  return errorClass !== null && RETRYABLE_ERROR_CLASSES.includes(errorClass)
}

/** Errors of these classes mean the reward, if any, says nothing about the agent. */
export function invalidatesReward(errorClass: ErrorClass): boolean {
  return errorClass !== 'agent'
}

/** The classes of what the service sees go wrong itself, around the harness. */
export const SERVICE_ERROR_CLASSES = {
  /** The harness ended without an exit status: its process or its runner was killed, or the host restarted. */
  lost: 'infra',
  /** A step of the attempt (placing, staging, starting, collecting) failed after its own retries. */
  stepFailed: 'infra',
} as const satisfies Record<string, ErrorClass>

/**
 * A run stopped for going past its time limit, by the phase it was in: the agent not stopping at its
 * timeout is the agent's failure; anything else hung the host.
 */
export function overrunErrorClass(phase: string | null): ErrorClass {
  return phase === 'agent' || phase === 'agent_setup' ? 'agent' : 'infra'
}
