import { describe, expect, expectTypeOf, it } from 'vitest'
import type { JobRow, JobTaskRow, RunAttemptRow, RunRow } from '../../../src/db/schema.js'
import type { ExportAttempt, ExportJob, ExportRun, ExportTask } from '../../../src/export/input.js'
import {
  RUN_EXPORT_COLUMNS,
  runExportRows,
  toCsv,
  toJsonLines,
  type RunExportRow,
} from '../../../src/export/run-rows.js'
import { exportJob, exportRun, exportTask } from '../../helpers/export-inputs.js'

const job = exportJob({ harness: 'harbor', agent: 'terminus-2', model: 'openai/gpt-4o' })
const tasks = [exportTask({ index: 0, name: 'hello' }), exportTask({ index: 1, name: 'other' })]

function rowsOf(...runs: ExportRun[]): RunExportRow[] {
  return [...runExportRows(job, tasks, runs)]
}

/** RFC 4180 records, read back: fields unquoted, `""` as `"`. */
function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let field = ''
  let record: string[] = []
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[++i]
      else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      record.push(field)
      field = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field)
      records.push(record)
      field = ''
      record = []
      i++
    } else field += c
  }
  expect(field, 'the last record ends with CRLF').toBe('')
  return records
}

describe('run rows', () => {
  it('makes one row per run, with its task, times and duration', () => {
    const [row] = rowsOf(
      exportRun(job, 4, {
        task_index: 1,
        attempts: 2,
        reward: 0.5,
        rewards: { reward: 0.5, style: 1 },
        n_input_tokens: 1200,
        n_cache_tokens: 200,
        n_output_tokens: 30,
        cost_usd: 0.0125,
        host: 'gpu-1',
        started_at: new Date('2026-11-29T05:00:02Z'),
        finished_at: '2026-11-29T05:00:32.500Z',
      }),
    )
    expect(row).toEqual({
      job_id: job.id,
      task: 'other',
      task_index: 1,
      run_number: 4,
      attempts: 2,
      status: 'completed',
      outcome: 'passed',
      error_class: null,
      error_message: null,
      reward: 0.5,
      rewards: { reward: 0.5, style: 1 },
      n_input_tokens: 1200,
      n_cache_tokens: 200,
      n_output_tokens: 30,
      cost_usd: 0.0125,
      started_at: '2026-11-29T05:00:02.000Z',
      finished_at: '2026-11-29T05:00:32.500Z',
      duration_sec: 30.5,
      host: 'gpu-1',
      agent: 'terminus-2',
      model: 'openai/gpt-4o',
      harness: 'harbor',
    })
  })

  it('leaves the duration unknown until the run has started and finished', () => {
    const [queued, running] = rowsOf(
      exportRun(job, 1, { status: 'queued', outcome: null, started_at: null, finished_at: null }),
      exportRun(job, 2, { status: 'running', outcome: null, finished_at: null }),
    )
    expect([queued!.started_at, queued!.duration_sec, running!.duration_sec]).toEqual([null, null, null])
  })

  it('refuses a run of a task the job does not have', () => {
    expect(() => rowsOf(exportRun(job, 1, { task_index: 7 }))).toThrow(/run 1 names task 7/)
  })

  it('takes the rows as the database reads them (a job task with its index)', () => {
    expectTypeOf<JobRow>().toExtend<ExportJob>()
    expectTypeOf<JobTaskRow & { index: number }>().toExtend<ExportTask>()
    expectTypeOf<RunRow>().toExtend<ExportRun>()
    expectTypeOf<RunAttemptRow>().toExtend<ExportAttempt>()
  })
})

describe('JSON Lines', () => {
  it('writes one object per line, with every column in order', () => {
    const runs = (function* () {
      for (let n = 1; n <= 3; n++) yield exportRun(job, n, { error_message: n === 2 ? 'line one\nline "two"' : null })
    })()
    const lines = [...toJsonLines(runExportRows(job, tasks, runs))]
    expect(lines).toHaveLength(3)
    for (const line of lines) expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true)
    const second = JSON.parse(lines[1]!) as Record<string, unknown>
    expect(Object.keys(second)).toEqual([...RUN_EXPORT_COLUMNS])
    expect(second['error_message']).toBe('line one\nline "two"')
    expect(second['rewards']).toEqual({ reward: 1 })
  })
})

describe('CSV', () => {
  it('writes a header and one CRLF record per run, quoting as RFC 4180 does', () => {
    const text = [
      ...toCsv(
        rowsOf(
          exportRun(job, 1, { error_message: 'a, b and "c"\r\nnext line', rewards: { reward: 1, style: 0.5 } }),
          exportRun(job, 2, { status: 'queued', outcome: null, reward: null, rewards: null, host: null }),
        ),
      ),
    ].join('')
    const records = parseCsv(text)
    expect(records).toHaveLength(3)
    const [header, first, second] = records
    expect(header).toEqual([...RUN_EXPORT_COLUMNS])
    const field = (record: string[] | undefined, column: string) => record![RUN_EXPORT_COLUMNS.indexOf(column as never)]
    expect(field(first, 'error_message')).toBe('a, b and "c"\r\nnext line')
    expect(JSON.parse(field(first, 'rewards')!)).toEqual({ reward: 1, style: 0.5 })
    expect(field(first, 'duration_sec')).toBe('30.5')
    expect([field(second, 'reward'), field(second, 'rewards'), field(second, 'host')]).toEqual(['', '', ''])
  })

  it('writes a text a spreadsheet would run as a formula as text', () => {
    const formulas = ['=HYPERLINK("http://x.test","click")', '+1+1', '-2+3', '@SUM(A1:A2)', '\tcmd', '\rcmd']
    const rows = formulas.map((text, i) => ({
      ...rowsOf(exportRun(job, i + 1, { error_message: text, reward: -0.5 }))[0]!,
      task: text,
      host: text,
    }))
    const [, ...records] = parseCsv([...toCsv(rows)].join(''))
    records.forEach((record, i) => {
      for (const column of ['task', 'error_message', 'host'])
        expect(record[RUN_EXPORT_COLUMNS.indexOf(column as never)], column).toBe(`'${formulas[i]}`)
      // A number is written as a number, never taken for a formula.
      expect(record[RUN_EXPORT_COLUMNS.indexOf('reward')]).toBe('-0.5')
    })
  })

  it('writes a line at a time', () => {
    const lines = toCsv(rowsOf(exportRun(job, 1), exportRun(job, 2)))
    expect(lines.next().value).toBe(RUN_EXPORT_COLUMNS.join(',') + '\r\n')
    expect([...lines]).toHaveLength(2)
  })
})
