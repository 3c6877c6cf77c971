/**
 * The error classes in one place (src/outcomes/): which are retried, and the harnesses' tables,
 * where an exception type in two classes would be classed by whichever table came last.
 */
import { describe, expect, it } from 'vitest'
import { classifyByPhase, HARBOR_ERROR_CLASSES, harborErrorClassOf } from '../../../src/outcomes/harbor.js'
import { LITELLM_ERROR_CLASSES } from '../../../src/outcomes/litellm.js'
import { isRetryable, overrunErrorClass } from '../../../src/outcomes/retry.js'
import { TB_FAILURE_MODE_CLASSES, tbModelErrorClass } from '../../../src/outcomes/terminus.js'
import { TB_FAILURE_MODES } from '../../../src/harness/terminus/result.js'
import { ERROR_CLASSES } from '../../../src/shared/status.js'

describe('error classes', () => {
  it('retries the run that could not be carried out, and nothing else', () => {
    expect(ERROR_CLASSES.filter(isRetryable)).toEqual(['infra', 'harness'])
    expect(isRetryable(null)).toBe(false)
  })

  it('blames an overrun on the agent while the agent ran, else on the host', () => {
    expect(['agent_setup', 'agent', 'verifier', 'environment_setup', null].map(overrunErrorClass)).toEqual([
      'agent',
      'agent',
      'infra',
      'infra',
      'infra',
    ])
  })
})

describe("Harbor's table", () => {
  it("puts no exception type in two classes, with LiteLLM's", () => {
    const names = [...Object.values(HARBOR_ERROR_CLASSES), ...Object.values(LITELLM_ERROR_CLASSES)].flat()
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([])
  })

  it("classes Harbor's exceptions and LiteLLM's, and an unknown one by the phase it interrupted", () => {
    expect(harborErrorClassOf('AgentTimeoutError')).toBe('agent')
    expect(harborErrorClassOf('RateLimitError')).toBe('provider')
    expect(harborErrorClassOf('SomethingNew')).toBeNull()
    const span = { started_at: '2026-01-01T00:00:00Z', finished_at: null }
    const phases = { environment_setup: span, agent_setup: null, agent_execution: null, verifier: null, trial: span }
    expect(classifyByPhase(phases)).toBe('infra')
    expect(classifyByPhase({ ...phases, agent_execution: span })).toBe('agent')
    expect(classifyByPhase({ ...phases, agent_execution: span, verifier: span })).toBe('verifier')
  })
})

describe("Terminal-Bench's table", () => {
  it('classes every failure mode but the ones that are no failure and the one its log explains', () => {
    const classed = Object.keys(TB_FAILURE_MODE_CLASSES).sort()
    const expected = TB_FAILURE_MODES.filter((m) => !['unset', 'none', 'unknown', 'unknown_agent_error'].includes(m))
    expect(classed).toEqual([...expected].sort())
  })

  it("classes a model error its log names by LiteLLM's table, and any other as the provider's", () => {
    expect(tbModelErrorClass('APIConnectionError')).toBe('infra')
    expect(tbModelErrorClass('AuthenticationError')).toBe('provider')
    expect(tbModelErrorClass('ContextWindowExceededError')).toBe('agent')
    expect(tbModelErrorClass('SomethingNew')).toBe('provider')
  })
})
