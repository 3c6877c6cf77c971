/**
 * A run's log: numbered lines (1, 2, 3, … per run, no gaps) of several streams, plus status changes
 * in the same sequence so that a client replaying from any sequence number sees both in order.
 *
 * Writers append in batches inside a transaction that also advances the reader's cursor for the
 * source file the lines came from, so a retried or duplicated reader can never repeat or skip one.
 * Each commit notifies `run_log` with the run id; the API's stream wakes on it.
 */
import { sql, type Transaction } from 'kysely'
import type { Db } from './database.js'
import type { Database, RunLogLineRow, RunRow } from './schema.js'

export const LOG_NOTIFY_CHANNEL = 'run_log'

/** Longer lines are cut with a visible marker, unless the caller's limits say otherwise. */
export const MAX_LOG_LINE_CHARS = 16 * 1024

/** What a run's log keeps (MAX_LOG_LINE_CHARS, MAX_LOG_BYTES_PER_RUN); past either, a visible marker. */
export interface LogLimits {
  /** Characters per line; the rest of a longer line is replaced by a marker. */
  maxLineChars: number
  /** Bytes of output per run (status, phase and our own lines not counted); null for no limit. */
  maxBytes: number | null
}

const DEFAULT_LIMITS: LogLimits = { maxLineChars: MAX_LOG_LINE_CHARS, maxBytes: null }

export interface LogEntry {
  stream: string
  line: string
  /** On a `phase` line: the harness phase it moves the run into (stored with the line). */
  phase?: string | null
}

/** Bytes [from, to) of `source` have been turned into the entries of the same append. */
export interface CursorAdvance {
  source: string
  from: number
  to: number
}

export class LogCursorConflict extends Error {
  override name = 'LogCursorConflict'
}

/**
 * Appends entries and advances cursors in one transaction; with `phase`, the running run's harness
 * phase moves in the same transaction, so a reader who sees the phase event sees the phase too.
 */
export async function appendRunLog(
  db: Db,
  runId: string,
  attempt: number,
  entries: readonly LogEntry[],
  cursors: readonly CursorAdvance[] = [],
  options: { phase?: string | null; limits?: LogLimits } = {},
): Promise<void> {
  if (entries.length === 0 && cursors.length === 0) return
  await db.transaction().execute(async (trx) => {
    // Not waiting for the WAL flush is safe here and only here: the lines and the cursor that says
    // they were read commit together, so a commit lost in a server crash loses both, and the tailer
    // reads the same bytes again. It takes the fsync off the hottest write path (every run, every poll).
    await sql`set local synchronous_commit = off`.execute(trx)
    for (const cursor of cursors) await advanceCursor(trx, runId, attempt, cursor)
    if (options.phase) {
      await trx
        .updateTable('runs')
        .set({ phase: options.phase })
        .where('id', '=', runId)
        .where('status', '=', 'running')
        .execute()
    }
    await insertLines(trx, runId, attempt, entries, options.limits)
  })
}

async function advanceCursor(trx: Transaction<Database>, runId: string, attempt: number, c: CursorAdvance) {
  if (c.from === 0) {
    const inserted = await trx
      .insertInto('run_log_cursors')
      .values({ run_id: runId, attempt, source: c.source, byte_offset: c.to })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst()
    if (Number(inserted.numInsertedOrUpdatedRows) === 1) return
  }
  const updated = await trx
    .updateTable('run_log_cursors')
    .set({ byte_offset: c.to })
    .where('run_id', '=', runId)
    .where('attempt', '=', attempt)
    .where('source', '=', c.source)
    .where('byte_offset', '=', c.from)
    .executeTakeFirst()
  if (Number(updated.numUpdatedRows) !== 1) {
    throw new LogCursorConflict(`log cursor of ${c.source} moved under us (expected offset ${c.from})`)
  }
}

/** Streams that are kept whatever the run's log limit: they are few and small, and say where the run is. */
const ALWAYS_KEPT = new Set(['status', 'phase', 'runner'])

/**
 * The lines of `entries` a run keeps under `limits`, given the bytes it has kept so far and whether
 * its log was already cut (both updated here): long lines cut with a marker, and past the byte limit
 * one marker line and nothing more of the harness's output.
 */
export function keptLines(
  entries: readonly LogEntry[],
  run: { bytes: number; cut: boolean },
  limits: LogLimits = DEFAULT_LIMITS,
): LogEntry[] {
  const { maxBytes, maxLineChars } = limits
  const kept: LogEntry[] = []
  for (const entry of entries) {
    const ours = ALWAYS_KEPT.has(entry.stream)
    // Our own lines (JSON events) are not cut by a small configured line limit: clients parse them.
    const line = clampLine(entry.line, ours ? Math.max(maxLineChars, MAX_LOG_LINE_CHARS) : maxLineChars)
    const size = Buffer.byteLength(line)
    if (ours || maxBytes === null || (!run.cut && run.bytes + size <= maxBytes)) {
      kept.push({ stream: entry.stream, line, phase: entry.phase ?? null })
      if (!ours) run.bytes += size
    } else if (!run.cut) {
      run.cut = true
      kept.push({
        stream: 'runner',
        line: `[log limit of ${maxBytes} bytes reached: further output of this run is not kept]`,
      })
    }
  }
  return kept
}

async function insertLines(
  trx: Transaction<Database>,
  runId: string,
  attempt: number,
  entries: readonly LogEntry[],
  limits: LogLimits = DEFAULT_LIMITS,
) {
  if (entries.length === 0) return
  // Locks the run row until commit: appends to one run are serialised.
  const run = await trx
    .selectFrom('runs')
    .select(['log_seq', 'log_bytes', 'log_cut'])
    .where('id', '=', runId)
    .forUpdate()
    .executeTakeFirstOrThrow()
  const counters = { bytes: Number(run.log_bytes), cut: run.log_cut }
  const kept = keptLines(entries, counters, limits)
  const { bytes, cut } = counters
  const first = run.log_seq + 1
  await trx
    .updateTable('runs')
    .set({ log_seq: run.log_seq + kept.length, log_bytes: bytes, log_cut: cut })
    .where('id', '=', runId)
    .execute()
  if (kept.length === 0) return
  const rows = kept.map((e, i) => ({
    run_id: runId,
    seq: first + i,
    attempt,
    stream: e.stream,
    line: e.line,
    phase: e.phase ?? null,
  }))
  for (let i = 0; i < rows.length; i += 2000) {
    await trx
      .insertInto('run_log_lines')
      .values(rows.slice(i, i + 2000))
      .execute()
  }
  await notifyLogChannel(trx, runId)
}

/** Wakes the event streams that follow `id` (a run's or a job's) at once: a notice on the log channel. */
export async function notifyLogChannel(db: Db, id: string): Promise<void> {
  await sql`select pg_notify(${LOG_NOTIFY_CHANNEL}, ${id})`.execute(db)
}

/** Appends lines inside a caller's transaction (status changes use this). */
export const appendRunLogInTransaction = insertLines

export function clampLine(line: string, maxChars = MAX_LOG_LINE_CHARS): string {
  // PostgreSQL text cannot hold NUL.
  const clean = line.includes('\u0000') ? line.replaceAll('\u0000', '') : line
  if (clean.length <= maxChars) return clean
  return `${clean.slice(0, maxChars)} … [line cut: ${clean.length - maxChars} more characters]`
}

export async function readLogCursors(db: Db, runId: string, attempt: number): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('run_log_cursors')
    .select(['source', 'byte_offset'])
    .where('run_id', '=', runId)
    .where('attempt', '=', attempt)
    .execute()
  return new Map(rows.map((r) => [r.source, Number(r.byte_offset)]))
}

export async function listRunLogAfter(
  db: Db,
  runId: string,
  afterSeq: number,
  limit: number,
): Promise<RunLogLineRow[]> {
  return db
    .selectFrom('run_log_lines')
    .selectAll()
    .where('run_id', '=', runId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute()
}

/** What a log stream needs of its run: whether it has ended, how, and how many lines it has. */
export type RunLogState = Pick<RunRow, 'status' | 'outcome' | 'error_class' | 'error_message' | 'reward' | 'log_seq'>

/**
 * The run's state and up to `limit` lines after `afterSeq`, in one statement (one snapshot, one
 * round trip: a live stream reads this at every line written). Undefined when the run does not exist.
 */
export async function readRunLogPage(
  db: Db,
  runId: string,
  afterSeq: number,
  limit: number,
): Promise<{ run: RunLogState; lines: RunLogLineRow[] } | undefined> {
  const rows = await db
    .selectFrom('runs as r')
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('run_log_lines')
          .selectAll()
          .whereRef('run_id', '=', 'r.id')
          .where('seq', '>', afterSeq)
          .orderBy('seq')
          .limit(limit)
          .as('l'),
      (join) => join.onTrue(),
    )
    .select(['r.status', 'r.outcome', 'r.error_class', 'r.error_message', 'r.reward', 'r.log_seq'])
    .select(['l.run_id', 'l.seq', 'l.attempt', 'l.stream', 'l.line', 'l.phase', 'l.created_at'])
    .where('r.id', '=', runId)
    .orderBy('l.seq')
    .execute()
  const first = rows[0]
  if (!first) return undefined
  const { status, outcome, error_class, error_message, reward, log_seq } = first
  const lines: RunLogLineRow[] = []
  for (const r of rows) {
    if (r.seq === null) continue
    lines.push({
      run_id: r.run_id!,
      seq: r.seq,
      attempt: r.attempt!,
      stream: r.stream!,
      line: r.line!,
      phase: r.phase,
      created_at: r.created_at!,
    })
  }
  return { run: { status, outcome, error_class, error_message, reward, log_seq }, lines }
}

/**
 * One line of ours (stream `runner`) in the run's log, written exactly once however often the
 * caller is retried: `marker` names it, as a cursor that moves from 0 to 1 with it.
 */
export async function appendRunnerLineOnce(
  db: Db,
  runId: string,
  attempt: number,
  marker: string,
  line: string,
): Promise<void> {
  try {
    await appendRunLog(db, runId, attempt, [{ stream: 'runner', line }], [{ source: marker, from: 0, to: 1 }])
  } catch (err) {
    if (!(err instanceof LogCursorConflict)) throw err
  }
}
