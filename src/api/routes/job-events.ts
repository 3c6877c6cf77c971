/**
 * GET /api/jobs/{job_id}/events: the job as Server-Sent Events, for pages that show a job live.
 * A `job` event carries what `GET /api/jobs/{job_id}` answers, sent at once and again whenever it
 * changes (a run's status, phase, outcome); changes within half a second are sent as one. An `end`
 * event follows the job's last state once it has ended, then the stream closes.
 *
 * It wakes on the same notifications as the log streams (any line of any of the job's runs, one
 * standing subscription per stream), and on a timer, so a missed notification delays an update but
 * never loses it.
 */
import { Hono, type Context } from 'hono'
import { streamSSE, type SSEStreamingApi } from 'hono/streaming'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import type { TokenSlots } from '../token-slots.js'
import { requireJob } from '../lookups.js'
import { jobDetail } from '../views.js'
import { findJob, listJobTasks } from '../../db/jobs.js'
import { lastAttemptPhases, listRuns } from '../../db/runs.js'
import { whileOpen } from '../../observability/metrics.js'
import { isTerminalJobStatus } from '../../shared/status.js'

const COALESCE_MS = 500
const WAKE_MS = 5_000

export function jobEventRoutes(deps: AppDeps, streams: TokenSlots) {
  const { db, config } = deps
  const app = new Hono<AppEnv>()
  /** An event stream, holding one of the caller's stream slots and counted in the sse_clients gauge while open. */
  const countedSSE = (c: Context<AppEnv>, body: (sse: SSEStreamingApi) => Promise<void>) => {
    const release = streams.take(c)
    return streamSSE(
      c,
      whileOpen(deps.metrics?.api.sseClients, { stream: 'job' }, async (sse) => {
        try {
          await body(sse)
        } finally {
          release()
        }
      }),
    )
  }

  app.get('/:job_id/events', async (c) => {
    const found = await requireJob(db, c.get('principal'), c.req.param('job_id'))
    return countedSSE(c, async (sse) => {
      // Woken by any line of any of the job's runs (its runs are all made with it), by the job's end
      // (finishJob notifies its id), or by the timer.
      let changed = false
      let wake: (() => void) | null = null
      const unsubscribe = deps.notifier.subscribe(
        [found.id, ...(await listRuns(db, found.id)).map((r) => r.id)],
        () => {
          changed = true
          wake?.()
        },
      )
      sse.onAbort(() => wake?.())
      try {
        let last = ''
        let seq = 0
        while (!sse.aborted) {
          changed = false
          const job = (await findJob(db, found.id))!
          const [tasks, runs, phases] = await Promise.all([
            listJobTasks(db, job.id),
            listRuns(db, job.id),
            lastAttemptPhases(db, job.id),
          ])
          // Log line counts change with every line; they are not worth an update of their own.
          const detail = jobDetail(job, tasks, runs, phases, config.temporal.uiUrl, config.temporal.namespace)
          const fingerprint = JSON.stringify({ ...detail, runs: detail.runs.map((r) => ({ ...r, log_lines: 0 })) })
          if (fingerprint !== last) {
            last = fingerprint
            await sse.writeSSE({ event: 'job', id: String(++seq), data: JSON.stringify(detail) })
          } else {
            await sse.write(': keep-alive\n\n')
          }
          if (isTerminalJobStatus(job.status)) {
            await sse.writeSSE({ event: 'end', data: JSON.stringify({ status: job.status }) })
            return
          }
          if (!changed && !sse.aborted) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(done, WAKE_MS)
              function done() {
                clearTimeout(timer)
                wake = null
                resolve()
              }
              wake = done
            })
          }
          await new Promise((resolve) => setTimeout(resolve, COALESCE_MS))
        }
      } finally {
        unsubscribe()
      }
    })
  })
  return app
}
