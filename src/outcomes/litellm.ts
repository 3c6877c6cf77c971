/**
 * LiteLLM's exceptions, which escape the agents of both harnesses (Harbor records them as the
 * trial's exception; Terminal-Bench's log names them), by class.
 */
import type { ErrorClassTable } from './table.js'

export const LITELLM_ERROR_CLASSES = {
  // The model provider refused: credentials, quota, rate, unknown model, bad parameters, outages.
  provider: [
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
  // The network between the agent and the provider.
  infra: ['APIConnectionError', 'Timeout'],
  // The agent outgrew its context, or asked for what the provider refuses.
  agent: ['ContextWindowExceededError', 'ContentPolicyViolationError'],
} as const satisfies ErrorClassTable

/** Every LiteLLM exception type the table knows. */
export const LITELLM_EXCEPTIONS: readonly string[] = Object.values(LITELLM_ERROR_CLASSES).flat()
