/**
 * Which class of error an exception recorded by a harness belongs to (PRODUCT.md's taxonomy). One
 * table for every harness, keyed by the exception's type name as the harness records it.
 *
 * The names are those of Harbor 0.26 (its own exceptions and the LiteLLM ones that escape agents; see
 * `harbor/models/trial/error_policy.py`) and of Terminal-Bench's failure modes.
 */
import type { ErrorClass } from '../shared/status.js'

const TABLE: Record<ErrorClass, readonly string[]> = {
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
    // LiteLLM
    'AuthenticationError',
    'PermissionDeniedError',
    'NotFoundError',
    'RateLimitError',
    'InternalServerError',
    'ServiceUnavailableError',
    'APIError',
    'BadRequestError',
    'UnprocessableEntityError',
    'UnsupportedParamsError',
    'APIResponseValidationError',
    'BudgetExceededError',
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
    'APIConnectionError',
    'Timeout',
    'CancelledError',
  ],
  // The harness itself could not do its job.
  harness: ['RegradeError', 'MissingExtraError', 'DspyImportError'],
  // The agent failed: it crashed, timed out, overflowed its context, or refused.
  agent: [
    'NonZeroAgentExitCodeError',
    'AgentTimeoutError',
    'ContextWindowExceededError',
    'OutputTokenExceededError',
    'ContextLengthExceededError',
    'OutputLengthExceededError',
    'AgentSafetyRefusalError',
    'ContentPolicyViolationError',
  ],
}

const BY_TYPE = new Map<string, ErrorClass>(
  (Object.entries(TABLE) as [ErrorClass, readonly string[]][]).flatMap(([cls, names]) => names.map((n) => [n, cls])),
)

/** The class of a known exception type, or null for one the table does not know. */
export function errorClassOf(exceptionType: string): ErrorClass | null {
  return BY_TYPE.get(exceptionType) ?? null
}

/** Errors of these classes mean the reward, if any, says nothing about the agent. */
export function invalidatesReward(errorClass: ErrorClass): boolean {
  return errorClass !== 'agent'
}
