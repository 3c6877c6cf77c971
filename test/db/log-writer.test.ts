/**
 * The batching log writer keeps appendRunLog's promises while committing the reads of many runs
 * together: each run's lines numbered 1, 2, 3, … without gaps, cursors advanced with their lines, an
 * append whose cursor moved refused alone (the rest of its batch commits), limits and phases as in
 * appendRunLog, and a tailer on it reading each line exactly once.
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { batchingLogWriter } from '../../src/db/log-writer.js'
import { listRunLogAfter, LogCursorConflict, readLogCursors } from '../../src/db/run-logs.js'
import { setRunStatus } from '../../src/db/runs.js'
import { LogTailer } from '../../src/logs/log-tailer.js'
import { LocalHost } from '../../src/hosts/local-host.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'

let tdb: TestDatabase
let workDir: string
beforeAll(async () => {
  tdb = await createTestDatabase()
  workDir = await mkdtemp(path.join(os.tmpdir(), 'hr-log-writer-'))
})
afterAll(async () => {
  await tdb.drop()
  await rm(workDir, { recursive: true, force: true })
})

/** One read of file `f` of a run: its line, and the cursor move that produced it. */
const readOf = (runId: string, line: string, from: number, to: number) => ({
  runId,
  attempt: 1,
  entries: [{ stream: 'x', line }],
  cursors: [{ source: 'f', from, to }],
  phase: null,
})

const lines = async (runId: string) =>
  (await listRunLogAfter(tdb.db, runId, 0, 10_000)).map((l) => [l.seq, l.stream, l.line])

it('commits the appends of many runs together, each run numbered without gaps, and notifies each run once', async () => {
  const { runIds } = await insertTestJob(tdb.db, 3)
  const listener = new pg.Client({ connectionString: tdb.url })
  await listener.connect()
  const notified: string[] = []
  listener.on('notification', (m) => notified.push(m.payload!))
  await listener.query('LISTEN run_log')
  const writer = batchingLogWriter(tdb.db, { windowMs: 30 })
  try {
    await Promise.all(
      runIds.flatMap((runId, r) =>
        [0, 1, 2].map((i) =>
          writer.append({
            runId,
            attempt: 1,
            entries: [{ stream: 'agent', line: `run ${r} line ${i}` }],
            cursors: [{ source: `f${i}`, from: 0, to: 10 }],
            phase: null,
          }),
        ),
      ),
    )
    for (const [r, runId] of runIds.entries()) {
      expect(await lines(runId)).toEqual([0, 1, 2].map((i) => [i + 1, 'agent', `run ${r} line ${i}`]))
      expect(Object.fromEntries(await readLogCursors(tdb.db, runId, 1))).toEqual({ f0: 10, f1: 10, f2: 10 })
    }
    await new Promise((r) => setTimeout(r, 200))
    // Nine appends in one batch: one notification per run.
    expect(notified.sort()).toEqual([...runIds].sort())
  } finally {
    await writer.close()
    await listener.end()
  }
})

it('refuses only the append whose cursor moved, and commits the rest of its batch', async () => {
  const { runIds } = await insertTestJob(tdb.db, 2)
  const [a, b] = runIds as [string, string]
  const writer = batchingLogWriter(tdb.db, { windowMs: 30 })
  try {
    await writer.append(readOf(a, 'one', 0, 4))
    const results = await Promise.allSettled([
      // Two readers of the same file from the same offset in one batch: the first wins.
      writer.append(readOf(a, 'two', 4, 8)),
      writer.append(readOf(a, 'two', 4, 8)),
      // A reader behind the stored cursor.
      writer.append(readOf(a, 'one', 0, 4)),
      writer.append(readOf(b, 'other run', 0, 9)),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(LogCursorConflict)
    expect(await lines(a)).toEqual([
      [1, 'x', 'one'],
      [2, 'x', 'two'],
    ])
    expect(await lines(b)).toEqual([[1, 'x', 'other run']])
  } finally {
    await writer.close()
  }
})

it('applies the log limits and moves the phase of a running run only', async () => {
  const { runIds } = await insertTestJob(tdb.db, 2)
  const [running, queued] = runIds as [string, string]
  await setRunStatus(tdb.db, running, 'running', 1)
  const writer = batchingLogWriter(tdb.db, { windowMs: 10 })
  const limits = { maxLineChars: 5, maxBytes: 12 }
  try {
    await Promise.all([
      writer.append({
        runId: running,
        attempt: 1,
        entries: [
          { stream: 'x', line: 'abcdefgh' },
          { stream: 'x', line: 'more' },
        ],
        cursors: [],
        phase: 'agent',
        limits,
      }),
      writer.append({
        runId: queued,
        attempt: 1,
        entries: [{ stream: 'x', line: 'hi' }],
        cursors: [],
        phase: 'agent',
        limits,
      }),
    ])
    const phases = await tdb.db
      .selectFrom('runs')
      .select(['id', 'phase', 'log_cut'])
      .where('id', 'in', runIds)
      .execute()
    expect(phases.find((r) => r.id === running)).toMatchObject({ phase: 'agent', log_cut: true })
    expect(phases.find((r) => r.id === queued)).toMatchObject({ phase: null, log_cut: false })
    expect((await lines(running)).map((l) => l[2])).toEqual([
      'running',
      '[log limit of 12 bytes reached: further output of this run is not kept]',
    ])
  } finally {
    await writer.close()
  }
})

it('lets a tailer read each line of a growing file exactly once, across two readers', async () => {
  const { runIds } = await insertTestJob(tdb.db, 1)
  const runId = runIds[0]!
  const host = new LocalHost('local', workDir)
  const sources = [{ key: 'a.log', path: 'a.log', stream: 'harbor' }]
  const writer = batchingLogWriter(tdb.db, { windowMs: 5 })
  const reader = () => new LogTailer(host, tdb.db, runId, 1, (l) => l, undefined, undefined, undefined, writer)
  try {
    await writeFile(path.join(workDir, 'a.log'), 'first\nsecond\n')
    const one = reader()
    const two = reader()
    await one.load()
    await two.load()
    await appendFile(path.join(workDir, 'a.log'), 'third\n')
    // Both read the same bytes at once: one commits, the other is refused, reloads, and adds nothing twice.
    await Promise.all([one.poll(sources), two.poll(sources)])
    await appendFile(path.join(workDir, 'a.log'), 'fourth\n')
    await two.poll(sources)
    await one.poll(sources)
    expect((await lines(runId)).map((l) => l[2])).toEqual(['first', 'second', 'third', 'fourth'])
  } finally {
    await writer.close()
  }
})
