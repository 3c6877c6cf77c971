/**
 * A run's log: live as Server-Sent Events, or whole as text.
 *
 * SSE: every log line is a `log` event, every status change a `status` event, every harness phase
 * change a `phase` event and every new step of the agent's trajectory a `trajectory` event, each
 * with its sequence number as `id`. A client reconnecting with `Last-Event-ID` (or `?last_event_id=`, for a
 * first connection) continues right after it: no gap, no duplicate. Once the run is terminal and
 * every line has been sent, an `end` event carries the final status and the stream closes.
 */
import { Hono, type Context } from 'hono'
import { stream, streamSSE, type SSEStreamingApi } from 'hono/streaming'
import { z } from 'zod'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import type { TokenSlots } from '../token-slots.js'
import { requireRun } from '../lookups.js'
import { lastEventIdParam, NO_QUERY, parseQuery } from '../params.js'
import { listRunLogAfter, readRunLogPage, type RunLogState } from '../../db/run-logs.js'
import type { RunLogLineRow } from '../../db/schema.js'
import { whileOpen } from '../../observability/metrics.js'
import { isTerminalRunStatus } from '../../shared/status.js'

const PAGE = 500
/** Longest wait between looks at the database when no notification arrives. */
const MAX_WAIT_MS = 2_000
const KEEPALIVE_MS = 15_000

const StreamQuery = z.object({ last_event_id: z.string().optional() }).strict()

export function logRoutes(deps: AppDeps, streams: TokenSlots) {
  const { db } = deps
  const app = new Hono<AppEnv>()
  /** An event stream, holding one of the caller's stream slots and counted in the sse_clients gauge while open. */
  const countedSSE = (c: Context<AppEnv>, body: (sse: SSEStreamingApi) => Promise<void>) => {
    const release = streams.take(c)
    return streamSSE(
      c,
      whileOpen(deps.metrics?.api.sseClients, { stream: 'run_log' }, async (sse) => {
        try {
          await body(sse)
        } finally {
          release()
        }
      }),
    )
  }

  app.get('/:job_id/runs/:run_number/logs/stream', async (c) => {
    const query = parseQuery(StreamQuery, c.req.queries())
    const run = await requireRun(db, c.get('principal'), c.req.param('job_id'), c.req.param('run_number'))
    let after = lastEventIdParam(c.req.header('Last-Event-ID') ?? query.last_event_id)

    return countedSSE(c, async (sse) => {
      const aborted = new AbortController()
      sse.onAbort(() => aborted.abort())
      // While the stream is open, the run's worker reads its files as they are written.
      const unwatch = deps.runWatch.open(run.id)
      try {
        await follow(sse, aborted.signal)
      } finally {
        unwatch()
      }
    })

    async function follow(sse: SSEStreamingApi, aborted: AbortSignal) {
      let lastWrite = Date.now()
      while (!sse.aborted) {
        // The run's state and its next lines from one snapshot: once it is terminal, every line up
        // to its log_seq is stored.
        const { run: current, lines } = (await readRunLogPage(db, run.id, after, PAGE))!
        for (const line of lines) {
          await sse.writeSSE(eventOf(line))
          after = line.seq
        }
        if (lines.length > 0) lastWrite = Date.now()
        if (lines.length === PAGE) continue
        if (isTerminalRunStatus(current.status) && after >= current.log_seq) {
          await sse.writeSSE({ event: 'end', data: JSON.stringify(endOf(current)) })
          return
        }
        if (Date.now() - lastWrite > KEEPALIVE_MS) {
          await sse.write(': keep-alive\n\n')
          lastWrite = Date.now()
        }
        await deps.notifier.wait(run.id, MAX_WAIT_MS, aborted)
      }
    }
  })

  app.get('/:job_id/runs/:run_number/logs', async (c) => {
    parseQuery(NO_QUERY, c.req.queries())
    const run = await requireRun(db, c.get('principal'), c.req.param('job_id'), c.req.param('run_number'))
    c.header('Content-Type', 'text/plain; charset=utf-8')
    c.header('Content-Disposition', `attachment; filename="run-${run.run_number}.log"`)
    return stream(c, async (out) => {
      for (let after = 0; ;) {
        const lines = await listRunLogAfter(db, run.id, after, 2000)
        if (lines.length === 0) return
        await out.write(lines.map((l) => `${l.created_at.toISOString()} [${l.stream}] ${l.line}\n`).join(''))
        after = lines.at(-1)!.seq
      }
    })
  })

  return app
}

function eventOf(line: RunLogLineRow) {
  const base = { seq: line.seq, attempt: line.attempt, time: line.created_at.toISOString() }
  const event = (name: string, data: object) => ({
    id: String(line.seq),
    event: name,
    data: JSON.stringify({ ...base, ...data }),
  })
  switch (line.stream) {
    case 'status':
      return event('status', { status: line.line.split(':')[0], message: line.line })
    case 'phase': {
      // The phase was resolved by the harness's driver when the line was written.
      const parsed = parseJson(line.line) as { event?: string; time?: string } | null
      return event('phase', { event: parsed?.event ?? null, phase: line.phase, harness_time: parsed?.time ?? null })
    }
    case 'trajectory':
      return event('trajectory', { step: parseJson(line.line) })
    default:
      return event('log', { stream: line.stream, line: line.line })
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

function endOf(run: RunLogState) {
  return {
    status: run.status,
    outcome: run.outcome,
    error_class: run.error_class,
    error_message: run.error_message,
    reward: run.reward,
    log_lines: run.log_seq,
  }
}
