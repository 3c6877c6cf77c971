import { describe, expect, it } from 'vitest'
import { activityLogger } from '../../../src/activities/activity-log.js'
import { createLogger } from '../../../src/logger.js'

function capture() {
  const lines: Record<string, unknown>[] = []
  const logger = createLogger('debug', { component: 'worker' }, (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>)
    return true
  })
  return { logger, lines }
}

describe('activity logs', () => {
  it('carry the job, the run and the attempt on every line, as JSON', () => {
    const { logger, lines } = capture()
    const log = activityLogger(logger, 'runHarness', { jobId: 'j1', runId: 'r1', runNumber: 3, attempt: 2 })
    log.info('harness started', { agent: 'oracle' })
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'harness started',
      component: 'worker',
      activity: 'runHarness',
      job_id: 'j1',
      run_id: 'r1',
      run_number: 3,
      attempt: 2,
      agent: 'oracle',
    })
    expect(typeof lines[0]!.time).toBe('string')
  })

  it('write nothing without a logger', () => {
    expect(() => activityLogger(undefined, 'finalizeJob', { jobId: 'j1' }).info('job finished')).not.toThrow()
  })
})

describe('logger', () => {
  it('never prints a field that only holds a secret', () => {
    const { logger, lines } = capture()
    logger.child({ authorization: 'Bearer hr_abc' }).warn('x', { openrouter_api_key: 'sk-or-v1-123', token: 't' })
    const text = JSON.stringify(lines)
    expect(text).not.toContain('hr_abc')
    expect(text).not.toContain('sk-or-v1-123')
    expect(lines[0]).toMatchObject({
      authorization: '[redacted]',
      openrouter_api_key: '[redacted]',
      token: '[redacted]',
    })
  })
})
