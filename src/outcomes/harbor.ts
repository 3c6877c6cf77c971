/**
 * Harbor's errors by class (docs/product.md, "Error classes"), for its result parser
 * (src/harness/harbor/result.ts): the exception types a trial records (Harbor 0.26's own, see
 * `harbor/models/trial/error_policy.py`, and LiteLLM's that escape its agents), the class of an
 * exception neither table knows by the phase it interrupted, and the refusals on Harbor's stderr
 * that are the host's fault.
 */
import type { PhaseTimings } from '../shared/outcome.js'
import type { ErrorClass } from '../shared/status.js'
import { LITELLM_ERROR_CLASSES } from './litellm.js'
import { errorClassLookup, type ErrorClassTable } from './table.js'

export const HARBOR_ERROR_CLASSES = {
  // The model provider refused: credentials, quota, rate, unknown model, bad parameters, outages.
  provider: [
    'AgentAuthenticationError',
    'ModelNotFoundError',
    'ApiProviderResourceNotFoundError',
    'ApiError',
    'ApiRateLimitError',
    'ApiUsageLimitError',
    'ApiInternalServerError',
    'ApiOverloadedError',
    'ApiResponseStalledError',
    'UnknownApiError',
    'UnsupportedModelParametersError',
    'MissingModelCredentialError',
  ],
  // No reward could be read: the verifier's own failures.
  verifier: ['VerifierTimeoutError', 'RewardFileNotFoundError', 'RewardFileEmptyError', 'VerifierOutputParseError'],
  // The host, the sandbox or the network let the run down.
  infra: [
    'EnvironmentStartTimeoutError',
    'SandboxBuildFailedError',
    'AgentSetupTimeoutError',
    'HealthcheckError',
    'SandboxLikelyOutOfMemoryError',
    'MemoryLimitExceededError',
    'SSHAccessError',
    'GKEExecStreamClosedError',
    'GKEPodNotFoundError',
    'RuntimeRequestError',
    'AddTestsDirError',
    'DownloadVerifierDirError',
    'ServiceOperationsUnsupportedError',
    'NetworkConnectionError',
    'ApiConnectionError',
    'ApiConnectionClosedError',
    'CancelledError',
  ],
  // The harness itself could not do its job.
  harness: ['RegradeError', 'MissingExtraError', 'DspyImportError'],
  // The agent failed: it crashed, timed out, overflowed its context, or refused.
  agent: [
    'NonZeroAgentExitCodeError',
    'AgentTimeoutError',
    'OutputTokenExceededError',
    'ContextLengthExceededError',
    'OutputLengthExceededError',
    'AgentSafetyRefusalError',
  ],
} as const satisfies ErrorClassTable

/** The class of an exception a trial recorded, or null for one neither Harbor's table nor LiteLLM's knows. */
export const harborErrorClassOf = errorClassLookup(HARBOR_ERROR_CLASSES, LITELLM_ERROR_CLASSES)

/**
 * For an exception the tables do not know, the phase it interrupted: before the agent ran, the
 * environment (or the host under it) failed; once the verifier started, the verifier did.
 */
export function classifyByPhase(phases: PhaseTimings): ErrorClass {
  if (phases.verifier?.started_at) return 'verifier'
  if (!phases.agent_execution?.started_at) return 'infra'
  return 'agent'
}

/** Harbor's own preflight refusing to start for lack of Docker (or of disk) is the host's fault, not the harness's. */
const INFRA_STDERR = [/Docker is not installed/i, /Docker daemon is not running/i, /No space left on device/i]

/** The class of a Harbor that left no trial result, by what its stderr ended with. */
export function harborExitErrorClass(stderrTail: string): ErrorClass {
  return INFRA_STDERR.some((pattern) => pattern.test(stderrTail)) ? 'infra' : 'harness'
}
