/**
 * How log tailers commit what they read. The rule is the one of `appendRunLog`: an append's lines
 * and the advance of its cursors commit together or not at all, and an append whose cursor moved
 * under it (another reader got there first) is refused with `LogCursorConflict`.
 *
 * A worker follows hundreds of harnesses, each read a few times a second; one transaction per read
 * (several round trips each) is what limited a small machine to a few hundred log rows a second.
 * The batching writer gathers the appends of every run of the worker for a few milliseconds and
 * commits them in one transaction of a fixed number of statements, whatever their number: the rows
 * of the runs concerned are locked in id order (so concurrent writers cannot deadlock), the cursors
 * are checked and advanced in memory and written in one statement, the lines inserted in large
 * batches, the runs' counters and phases updated in one statement, and each run notified once.
 */
import { sql, type Transaction } from 'kysely'
import type { Db } from './database.js'
import type { Database } from './schema.js'
import {
  appendRunLog,
  keptLines,
  LOG_NOTIFY_CHANNEL,
  LogCursorConflict,
  type CursorAdvance,
  type LogEntry,
  type LogLimits,
} from './run-logs.js'

export interface LogAppend {
  runId: string
  attempt: number
  entries: readonly LogEntry[]
  cursors: readonly CursorAdvance[]
  /** The running run's harness phase after these entries, if they move it. */
  phase: string | null
  limits?: LogLimits | undefined
}

export interface LogWriter {
  append(a: LogAppend): Promise<void>
  /** Commits what is pending and stops taking appends. */
  close(): Promise<void>
}

/** One transaction per append. */
export function directLogWriter(db: Db): LogWriter {
  return {
    append: (a) => appendRunLog(db, a.runId, a.attempt, a.entries, a.cursors, { phase: a.phase, limits: a.limits }),
    close: async () => {},
  }
}

interface Pending {
  append: LogAppend
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Appends of many runs committed together: a batch goes when `windowMs` has passed since its first
 * append or it holds `maxEntries` lines, one batch at a time.
 */
export function batchingLogWriter(db: Db, options: { windowMs?: number; maxEntries?: number } = {}): LogWriter {
  const windowMs = options.windowMs ?? 20
  const maxEntries = options.maxEntries ?? 5000
  let queue: Pending[] = []
  let queuedEntries = 0
  let timer: NodeJS.Timeout | null = null
  let flushing: Promise<void> | null = null
  let closed = false

  const schedule = () => {
    if (timer || flushing) return
    timer = setTimeout(() => void flush(), queuedEntries >= maxEntries ? 0 : windowMs)
  }

  const flush = async (): Promise<void> => {
    timer = null
    if (flushing || queue.length === 0) return
    const batch = queue
    queue = []
    queuedEntries = 0
    flushing = commitBatch(db, batch)
    try {
      await flushing
    } finally {
      flushing = null
      if (queue.length > 0) schedule()
    }
  }

  return {
    append(append) {
      if (closed) return Promise.reject(new Error('the log writer is closed'))
      if (append.entries.length === 0 && append.cursors.length === 0) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        queue.push({ append, resolve, reject })
        queuedEntries += append.entries.length
        schedule()
      })
    },
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      timer = null
      while (flushing || queue.length > 0) {
        if (flushing) await flushing.catch(() => undefined)
        else await flush()
      }
    },
  }
}

/** Commits a batch, retrying it whole once if PostgreSQL picked it as a deadlock or serialization victim. */
async function commitBatch(db: Db, batch: Pending[]): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      const refused = await db.transaction().execute((trx) => writeBatch(trx, batch))
      for (const p of batch) {
        const conflict = refused.get(p)
        if (conflict) p.reject(conflict)
        else p.resolve()
      }
      return
    } catch (err) {
      const code = (err as { code?: string }).code
      if (tries === 0 && (code === '40P01' || code === '40001')) continue
      for (const p of batch) p.reject(err)
      return
    }
  }
}

const cursorKey = (runId: string, attempt: number, source: string) => `${runId}\u0000${attempt}\u0000${source}`

async function writeBatch(trx: Transaction<Database>, batch: Pending[]): Promise<Map<Pending, LogCursorConflict>> {
  // As in appendRunLog: lines and cursors are lost or kept together, so the WAL flush need not be awaited.
  await sql`set local synchronous_commit = off`.execute(trx)
  const runIds = [...new Set(batch.map((p) => p.append.runId))].sort()
  const runs = await trx
    .selectFrom('runs')
    .select(['id', 'log_seq', 'log_bytes', 'log_cut'])
    .where('id', 'in', runIds)
    .orderBy('id')
    .forUpdate()
    .execute()
  const state = new Map(
    runs.map((r) => [
      r.id,
      { seq: r.log_seq, bytes: Number(r.log_bytes), cut: r.log_cut, phase: null as string | null },
    ]),
  )
  const sources = [...new Set(batch.flatMap((p) => p.append.cursors.map((c) => c.source)))]
  const stored = new Map<string, number>()
  if (sources.length > 0) {
    const rows = await trx
      .selectFrom('run_log_cursors')
      .select(['run_id', 'attempt', 'source', 'byte_offset'])
      .where('run_id', 'in', runIds)
      .where('source', 'in', sources)
      .forUpdate()
      .execute()
    for (const r of rows) stored.set(cursorKey(r.run_id, r.attempt, r.source), Number(r.byte_offset))
  }

  const refused = new Map<Pending, LogCursorConflict>()
  const advanced = new Map<string, { runId: string; attempt: number; source: string; to: number }>()
  const lines: { run_id: string; seq: number; attempt: number; stream: string; line: string; phase: string | null }[] =
    []
  const touched = new Set<string>()
  for (const p of batch) {
    const a = p.append
    const run = state.get(a.runId)
    if (!run) {
      refused.set(p, new LogCursorConflict(`run ${a.runId} does not exist`))
      continue
    }
    const moved = a.cursors.find((c) => {
      const at = stored.get(cursorKey(a.runId, a.attempt, c.source))
      return !(at === c.from || (at === undefined && c.from === 0))
    })
    if (moved) {
      refused.set(
        p,
        new LogCursorConflict(`log cursor of ${moved.source} moved under us (expected offset ${moved.from})`),
      )
      continue
    }
    for (const c of a.cursors) {
      const key = cursorKey(a.runId, a.attempt, c.source)
      stored.set(key, c.to)
      advanced.set(key, { runId: a.runId, attempt: a.attempt, source: c.source, to: c.to })
    }
    const kept = keptLines(a.entries, run, a.limits)
    for (const e of kept)
      lines.push({
        run_id: a.runId,
        seq: ++run.seq,
        attempt: a.attempt,
        stream: e.stream,
        line: e.line,
        phase: e.phase ?? null,
      })
    if (a.phase) run.phase = a.phase
    touched.add(a.runId)
  }

  if (advanced.size > 0) {
    await trx
      .insertInto('run_log_cursors')
      .values(
        [...advanced.values()].map((c) => ({
          run_id: c.runId,
          attempt: c.attempt,
          source: c.source,
          byte_offset: c.to,
        })),
      )
      .onConflict((oc) =>
        oc
          .columns(['run_id', 'attempt', 'source'])
          .doUpdateSet((eb) => ({ byte_offset: eb.ref('excluded.byte_offset') })),
      )
      .execute()
  }
  for (let i = 0; i < lines.length; i += 2000) {
    await trx
      .insertInto('run_log_lines')
      .values(lines.slice(i, i + 2000))
      .execute()
  }
  if (touched.size > 0) {
    const values = [...touched].map((id) => {
      const r = state.get(id)!
      return sql`(${id}::uuid, ${r.seq}::bigint, ${r.bytes}::bigint, ${r.cut}::boolean, ${r.phase}::text)`
    })
    // The phase moves only while the run is running, as in appendRunLog.
    await sql`
      update runs set
        log_seq = v.seq,
        log_bytes = v.bytes,
        log_cut = v.cut,
        phase = case when v.phase is not null and runs.status = 'running' then v.phase else runs.phase end
      from (values ${sql.join(values)}) as v(id, seq, bytes, cut, phase)
      where runs.id = v.id`.execute(trx)
    const notify = lines.length > 0 ? [...new Set(lines.map((l) => l.run_id))] : []
    if (notify.length > 0) {
      await sql`select pg_notify(${LOG_NOTIFY_CHANNEL}, id) from unnest(${notify}::text[]) as id`.execute(trx)
    }
  }
  return refused
}
