/**
 * GET /api/jobs/{id}/export through the routes (`app.request()`) on a real database: one row per run
 * in JSON Lines and in CSV (the task named, a formula-like task name defused), and the Harbor job
 * folder as a zip holding the job's config and result and a trial per ended run. Harbor itself
 * reads such a folder in harbor-export.test.ts.
 */
import { sql } from 'kysely'
import JSZip from 'jszip'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/api-app.js'
import { insertTestJob } from '../helpers/fixtures.js'

let t: TestApp
let jobId: string
beforeAll(async () => {
  t = await createTestApp()
  ;({ jobId } = await insertTestJob(t.db.db, 3))
  await t.db.db.updateTable('job_tasks').set({ name: '=HYPERLINK("x")' }).where('job_id', '=', jobId).execute()
  await sql`
    update runs set status = 'completed', outcome = case when run_number = 1 then 'passed' else 'failed' end,
      reward = case when run_number = 1 then 1 else 0 end, cost_usd = 0.25,
      started_at = now() - interval '30 seconds', finished_at = now()
    where job_id = ${jobId} and run_number < 3
  `.execute(t.db.db)
})
afterAll(() => t?.close())

it('exports one JSON line per run', async () => {
  const res = await t.app.request(`/api/jobs/${jobId}/export?format=jsonl`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('application/x-ndjson')
  const rows = (await res.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  expect(rows.map((r) => [r.run_number, r.outcome, r.reward])).toEqual([
    [1, 'passed', 1],
    [2, 'failed', 0],
    [3, null, null],
  ])
  expect(rows[0]).toMatchObject({ job_id: jobId, task: '=HYPERLINK("x")', cost_usd: 0.25, agent: 'oracle' })
})

it('exports CSV with a header, one record per run, and no cell a spreadsheet would run', async () => {
  const res = await t.app.request(`/api/jobs/${jobId}/export?format=csv`)
  expect(res.status).toBe(200)
  const lines = (await res.text()).trim().split('\r\n')
  expect(lines).toHaveLength(4)
  expect(lines[0]).toContain('run_number')
  expect(lines[1]).toContain(`"'=HYPERLINK(""x"")"`)
})

it('exports the Harbor job folder as a zip: config, result, a trial per ended run', async () => {
  const res = await t.app.request(`/api/jobs/${jobId}/export?format=harbor`)
  expect(res.status).toBe(200)
  const zip = await JSZip.loadAsync(Buffer.from(await res.arrayBuffer()))
  const names = Object.keys(zip.files)
  expect(names).toContain(`${jobId}/config.json`)
  const result = JSON.parse(await zip.file(`${jobId}/result.json`)!.async('string'))
  expect(result.stats.n_trials ?? result.n_total_trials).toBeDefined()
  const trials = names.filter((n) => /^[^/]+\/[^/]+\/result\.json$/.test(n))
  expect(trials).toHaveLength(2)
})

it('refuses an unknown format', async () => {
  const res = await t.app.request(`/api/jobs/${jobId}/export?format=xlsx`)
  expect(res.status).toBe(400)
  expect(((await res.json()) as any).error.code).toBe('invalid_format')
})
