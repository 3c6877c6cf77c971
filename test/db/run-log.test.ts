import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  appendRunLog,
  listRunLogAfter,
  LogCursorConflict,
  MAX_LOG_LINE_CHARS,
  readRunLogPage,
} from '../../src/db/run-logs.js'
import { setRunStatus } from '../../src/db/runs.js'
import { LogTailer, takeLines } from '../../src/logs/log-tailer.js'
import { LocalHost } from '../../src/hosts/local-host.js'
import { makeScrubber } from '../../src/secrets/scrub.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'
import { insertTestJob } from '../helpers/fixtures.js'

let tdb: TestDatabase
let workDir: string

beforeAll(async () => {
  tdb = await createTestDatabase()
  workDir = await mkdtemp(path.join(os.tmpdir(), 'hr-log-test-'))
})
afterAll(async () => {
  await tdb.drop()
  await rm(workDir, { recursive: true, force: true })
})

async function lines(runId: string) {
  return listRunLogAfter(tdb.db, runId, 0, 10_000)
}

describe('run log', () => {
  it('numbers lines 1, 2, 3, … per run, status changes included', async () => {
    const { runIds } = await insertTestJob(tdb.db)
    const [a, b] = runIds as [string, string]
    await appendRunLog(tdb.db, a, 1, [
      { stream: 'harbor', line: 'one' },
      { stream: 'harbor', line: 'two' },
    ])
    await appendRunLog(tdb.db, b, 1, [{ stream: 'harbor', line: 'other run' }])
    expect(await setRunStatus(tdb.db, a, 'staging', 1)).toBe(true)
    expect(await setRunStatus(tdb.db, a, 'staging', 1)).toBe(false)
    await appendRunLog(tdb.db, a, 1, [{ stream: 'stderr', line: 'three' }])
    const got = await lines(a)
    expect(got.map((l) => [l.seq, l.stream, l.line])).toEqual([
      [1, 'harbor', 'one'],
      [2, 'harbor', 'two'],
      [3, 'status', 'staging'],
      [4, 'stderr', 'three'],
    ])
    expect((await lines(b)).map((l) => l.seq)).toEqual([1])
  })

  it('reads a page of lines with the run state a stream needs, in one statement', async () => {
    const { runIds } = await insertTestJob(tdb.db)
    const run = runIds[0]!
    const empty = await readRunLogPage(tdb.db, run, 0, 10)
    expect(empty).toEqual({ run: expect.objectContaining({ status: 'queued', log_seq: 0 }), lines: [] })
    await appendRunLog(
      tdb.db,
      run,
      1,
      ['a', 'b', 'c'].map((line) => ({ stream: 'harbor', line })),
    )
    const page = await readRunLogPage(tdb.db, run, 1, 1)
    expect(page!.run.log_seq).toBe(3)
    expect(page!.lines.map((l) => [l.seq, l.line, l.attempt, l.stream, l.run_id])).toEqual([[2, 'b', 1, 'harbor', run]])
    expect(page!.lines[0]!.created_at).toBeInstanceOf(Date)
    expect((await readRunLogPage(tdb.db, run, 0, 10))!.lines.map((l) => l.seq)).toEqual([1, 2, 3])
    expect((await readRunLogPage(tdb.db, run, 3, 10))!.lines).toEqual([])
    expect(await readRunLogPage(tdb.db, '00000000-0000-0000-0000-000000000000', 0, 10)).toBeUndefined()
  })

  it('refuses an append whose cursor moved: a duplicate reader cannot repeat lines', async () => {
    const { runIds } = await insertTestJob(tdb.db, 1)
    const runId = runIds[0]!
    await appendRunLog(tdb.db, runId, 1, [{ stream: 'x', line: 'a' }], [{ source: 'f', from: 0, to: 2 }])
    await expect(
      appendRunLog(tdb.db, runId, 1, [{ stream: 'x', line: 'a' }], [{ source: 'f', from: 0, to: 2 }]),
    ).rejects.toBeInstanceOf(LogCursorConflict)
    await appendRunLog(tdb.db, runId, 1, [{ stream: 'x', line: 'b' }], [{ source: 'f', from: 2, to: 4 }])
    expect((await lines(runId)).map((l) => l.line)).toEqual(['a', 'b'])
  })

  it('cuts an over-long line with a visible marker', async () => {
    const { runIds } = await insertTestJob(tdb.db, 1)
    await appendRunLog(tdb.db, runIds[0]!, 1, [{ stream: 'x', line: 'y'.repeat(MAX_LOG_LINE_CHARS + 10) }])
    const [line] = await lines(runIds[0]!)
    expect(line!.line).toMatch(/\[line cut: 10 more characters\]$/)
  })

  it('keeps a run to its log limits: lines cut at the configured length, output past the byte limit dropped after one marker', async () => {
    const { runIds } = await insertTestJob(tdb.db, 1)
    const runId = runIds[0]!
    const limits = { maxLineChars: 8, maxBytes: 50 }
    await appendRunLog(tdb.db, runId, 1, [{ stream: 'x', line: 'abcdefghijkl' }], [], { limits })
    await appendRunLog(tdb.db, runId, 1, [{ stream: 'x', line: '12345' }], [], { limits })
    // The cut line counts in full (42 bytes), "12345" brings it to 47; "more" would pass 50.
    await setRunStatus(tdb.db, runId, 'staging', 1)
    await appendRunLog(
      tdb.db,
      runId,
      1,
      [
        { stream: 'x', line: 'more' },
        { stream: 'phase', line: '{"phase":"agent"}' },
      ],
      [],
      { limits },
    )
    await appendRunLog(tdb.db, runId, 1, [{ stream: 'x', line: 'still more' }], [], { limits })
    const got = (await lines(runId)).map((l) => [l.stream, l.line])
    expect(got).toEqual([
      ['x', 'abcdefgh … [line cut: 4 more characters]'],
      ['x', '12345'],
      ['status', 'staging'],
      ['runner', '[log limit of 50 bytes reached: further output of this run is not kept]'],
      ['phase', '{"phase":"agent"}'],
    ])
    const run = await tdb.db
      .selectFrom('runs')
      .select(['log_cut', 'log_seq'])
      .where('id', '=', runId)
      .executeTakeFirstOrThrow()
    expect(run).toEqual({ log_cut: true, log_seq: 5 })
  })
})

describe('LogTailer', () => {
  it('reads each line of growing files exactly once, across readers, holding back partial lines', async () => {
    const { runIds } = await insertTestJob(tdb.db, 1)
    const runId = runIds[0]!
    const host = new LocalHost('local', workDir)
    const file = path.join(workDir, 'a.log')
    const sources = [{ key: 'a.log', path: 'a.log', stream: 'harbor' }]
    const scrub = makeScrubber(['sk-secret-123456'])

    await writeFile(file, 'first\nsecond with sk-secret-123456\nthi')
    const reader1 = new LogTailer(host, tdb.db, runId, 1, scrub)
    await reader1.load()
    expect(await reader1.poll(sources)).toHaveLength(2)

    // A second reader (a retried activity) starts from the committed offset.
    await appendFile(file, 'rd\nfourth\n')
    const reader2 = new LogTailer(host, tdb.db, runId, 1, scrub)
    await reader2.load()
    expect(await reader2.poll(sources)).toHaveLength(2)

    // The first reader, now stale, notices the conflict, reloads, and adds nothing twice.
    await appendFile(file, 'last without newline')
    expect(await reader1.poll(sources)).toHaveLength(0)
    expect(await reader1.poll(sources, true)).toHaveLength(1)

    expect((await lines(runId)).map((l) => l.line)).toEqual([
      'first',
      'second with [REDACTED]',
      'third',
      'fourth',
      'last without newline',
    ])
  })

  it('splits at newline bytes, keeps what a terminal shows of carriage-return progress, drops colour', () => {
    const chunk = Buffer.from('a\r\nb 10%\rb 100%\n\u001b[31mred\u001b[0m\npartial')
    expect(takeLines(chunk, false)).toEqual({ lines: ['a', 'b 100%', 'red'], bytes: chunk.length - 'partial'.length })
    expect(takeLines(chunk, true).lines.at(-1)).toBe('partial')
    expect(takeLines(Buffer.from('no newline'), false)).toEqual({ lines: [], bytes: 0 })
  })
})
