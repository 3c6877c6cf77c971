/**
 * POST /api/stream-tickets: a ticket for one URL a browser opens without headers (src/api/tickets.ts).
 *
 * Body: `{"purpose": "job_events", "job_id"}`, or `{"purpose": "run_log_stream" | "run_log" |
 * "run_artifacts", "job_id", "run_number"}`. The job (and run) must be one the caller may see. Answers
 * `201 {ticket, url, expires_at}`: `url` is the path with `?ticket=`, good for a minute.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import { ApiError } from '../errors.js'
import { requireJob, requireRun } from '../lookups.js'
import { NO_QUERY, parseQuery } from '../params.js'
import {
  issueTicket,
  TICKET_PURPOSES,
  TICKET_TTL_MS,
  ticketPath,
  type TicketKey,
  type TicketTarget,
} from '../tickets.js'

const TicketRequest = z
  .object({
    purpose: z.enum(TICKET_PURPOSES),
    job_id: z.string().max(100),
    run_number: z.number().int().optional(),
  })
  .strict()

export function ticketRoutes(deps: AppDeps, key: TicketKey) {
  const app = new Hono<AppEnv>()
  app.post('/stream-tickets', async (c) => {
    parseQuery(NO_QUERY, c.req.queries())
    const body = TicketRequest.safeParse(await c.req.json().catch(() => undefined))
    if (!body.success) {
      const name = String(body.error.issues[0]?.path[0] ?? 'body')
      throw new ApiError(400, `invalid_${name}`, `${name}: ${body.error.issues[0]?.message ?? 'a JSON object'}`, name)
    }
    const { purpose, job_id: jobIdRaw, run_number: runRaw } = body.data
    const principal = c.get('principal')
    let target: TicketTarget
    if (purpose === 'job_events') {
      if (runRaw !== undefined) {
        throw new ApiError(400, 'invalid_run_number', 'run_number: not taken for job_events', 'run_number')
      }
      const job = await requireJob(deps.db, principal, jobIdRaw)
      target = { purpose, jobId: job.id, runNumber: null }
    } else {
      const run = await requireRun(deps.db, principal, jobIdRaw, runRaw === undefined ? undefined : String(runRaw))
      target = { purpose, jobId: run.job_id, runNumber: run.run_number }
    }
    const expiresAt = Date.now() + TICKET_TTL_MS
    const ticket = issueTicket(key, { ...target, tokenId: principal.tokenId, expiresAt })
    return c.json(
      {
        ticket,
        url: `${ticketPath(target)}?ticket=${encodeURIComponent(ticket)}`,
        expires_at: new Date(expiresAt).toISOString(),
      },
      201,
    )
  })
  return app
}
