/** Activity log lines as JSON with the ids they concern, so one run's story can be found by grep. */
import { Context } from '@temporalio/activity'
import { silentLogger, type Logger } from '../logger.js'

/**
 * A logger for one activity on one run (or attempt): every line names the activity, the job, the run
 * and, when known, the attempt, with Temporal's own attempt number of the activity when it is a retry.
 */
export function activityLogger(
  logger: Logger | undefined,
  activity: string,
  ref: { jobId: string; runNumber?: number; runId?: string; attempt?: number },
): Logger {
  const retry = temporalAttempt()
  return (logger ?? silentLogger).child({
    activity,
    job_id: ref.jobId,
    ...(ref.runId !== undefined ? { run_id: ref.runId } : {}),
    ...(ref.runNumber !== undefined ? { run_number: ref.runNumber } : {}),
    ...(ref.attempt !== undefined ? { attempt: ref.attempt } : {}),
    ...(retry > 1 ? { activity_attempt: retry } : {}),
  })
}

/** Temporal's attempt number of the running activity (1 outside one, e.g. in a test). */
function temporalAttempt(): number {
  try {
    return Context.current().info.attempt
  } catch {
    return 1
  }
}
