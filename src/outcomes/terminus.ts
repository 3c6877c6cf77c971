/**
 * Terminal-Bench's errors by class (docs/product.md, "Error classes"), for its result parser
 * (src/harness/terminus/result.ts): TB records no exception, only a trial's `failure_mode`
 * (TB 0.2.18's `FailureMode`, `terminal_bench/agents/failure_mode.py`), and names model errors only
 * in its log, as LiteLLM's exceptions (litellm.ts).
 *
 * | `failure_mode`               | stands for                                 | class      |
 * | ---------------------------- | ------------------------------------------ | ---------- |
 * | `unset`, `none`, `unknown`   | nothing: no failure                        | -          |
 * | `agent_timeout`              | Harbor's `AgentTimeoutError`               | `agent`    |
 * | `fatal_llm_parse_error`      | the model's answers unreadable, 3 times    | `agent`    |
 * | `context_length_exceeded`    | `ContextLengthExceededError`               | `agent`    |
 * | `output_length_exceeded`     | `OutputLengthExceededError`                | `agent`    |
 * | `unknown_agent_error`        | the log's last LiteLLM error, if any       | its class  |
 * |                              | else, with timestamps: an agent crash      | `agent`    |
 * |                              | else (no timestamps): Docker, image build  | `infra`    |
 * | `agent_installation_failed`  | the agent never ran                        | `infra`    |
 * | `test_timeout`               | `VerifierTimeoutError`                     | `verifier` |
 * | `parse_error`                | `VerifierOutputParseError`                 | `verifier` |
 */
import type { ErrorClass } from '../shared/status.js'
import { LITELLM_ERROR_CLASSES } from './litellm.js'
import { errorClassLookup } from './table.js'

/** The class of each failure mode but `unknown_agent_error` (see {@link unknownAgentErrorClass}). */
export const TB_FAILURE_MODE_CLASSES = {
  agent_timeout: 'agent',
  fatal_llm_parse_error: 'agent',
  context_length_exceeded: 'agent',
  output_length_exceeded: 'agent',
  agent_installation_failed: 'infra',
  test_timeout: 'verifier',
  parse_error: 'verifier',
} as const satisfies Record<string, ErrorClass>

/** The class of a LiteLLM exception TB's log names; any model error it does not know is the provider's. */
export function tbModelErrorClass(exceptionType: string): ErrorClass {
  return litellmErrorClassOf(exceptionType) ?? 'provider'
}
const litellmErrorClassOf = errorClassLookup(LITELLM_ERROR_CLASSES)

/**
 * `unknown_agent_error` without a model error in the log: with timestamps the agent crashed; with
 * none, TB replaced the trial's record after an exception around the agent (Docker, the image build,
 * the container), not in it.
 */
export function unknownAgentErrorClass(trialStarted: boolean): ErrorClass {
  return trialStarted ? 'agent' : 'infra'
}

/** Docker missing, unreachable or out of disk under `tb`: the host's fault, not the harness's. */
const TB_INFRA_STDERR = [
  /Error creating docker client/i,
  /Please ensure that Docker is installed and running/i,
  /Cannot connect to the Docker daemon/i,
  /No space left on device/i,
]

/** The class of a `tb` that left no results.json, by what its stderr ended with. */
export function tbExitErrorClass(stderrTail: string): ErrorClass {
  return TB_INFRA_STDERR.some((pattern) => pattern.test(stderrTail)) ? 'infra' : 'harness'
}
