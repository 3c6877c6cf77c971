/**
 * The dashboard's dataset pages in a real browser (headless Chromium, playwright-core) against the
 * real service: a dataset job's tasks × runs grid and its summary, sorted by pass rate; a grid of a
 * thousand runs repainting only the cells that changed; a retry that needs the job's key again asks
 * for it (from the job's page and from a run's); a running job paused, resumed and re-run from its page; jobs ticked in the list compared,
 * with the paired test's verdict. Jobs that are only read are written into the database as they
 * would stand (test/helpers/dataset-jobs.ts); the one that is acted on runs for real.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { getJson, upload } from '../helpers/api-client.js'
import { insertDatasetJob, runColumns, type SeedRun } from '../helpers/dataset-jobs.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { slowTask } from '../helpers/task-zips.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SHOTS = path.join(
  PROJECT_ROOT,
  'test-results',
  'screenshots',
  `datasets-${new Date().toISOString().replace(/[:.]/g, '-')}`,
)

let service: TestService
let browser: Browser
let page: Page
const problems: string[] = []

async function shot(name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })
}

/** `n` runs: the first `passed` pass, the rest fail. */
function judged(n: number, passed: number): SeedRun[] {
  return Array.from({ length: n }, (_, i) => (i < passed ? 'passed' : 'failed'))
}

/** The task names of the grid's rows, top to bottom. */
function rowOrder(): Promise<string[]> {
  return page.locator('#task-grid tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task')!))
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`)
  await mkdir(SHOTS, { recursive: true })
  process.stdout.write(`dataset screenshots: ${SHOTS}\n`)
  service = await startTestService()
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.on('pageerror', (err) => problems.push(String(err)))
  // The API's refusals (4xx) are part of what is tested; anything else the console reports is not.
  page.on('console', (m) => m.type() === 'error' && !m.text().includes('status of 4') && problems.push(m.text()))
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await service?.stop()
})

describe('dataset pages', () => {
  let gridJob: string

  it("shows a dataset job's tasks × runs grid, its summary, and sorts the tasks by pass rate", async () => {
    gridJob = await insertDatasetJob(service.db.db, {
      name: 'bench-small',
      withKey: true,
      tasks: [
        { name: 'alpha', runs: judged(3, 2) },
        { name: 'beta', runs: judged(3, 0) },
        { name: 'gamma', runs: judged(3, 3) },
        { name: 'delta', runs: ['error:infra', 'error:infra', 'error:infra'] },
      ],
    })
    await page.goto(`${service.api.url}/jobs/${gridJob}`)
    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 15_000 }).toBe('completed')
    expect(await rowOrder()).toEqual(['alpha', 'beta', 'gamma', 'delta'])
    expect(await page.locator('#task-grid .run-tile').count()).toBe(12)
    // Each row holds its own task's runs (run r is of task (r − 1) mod 4), coloured by outcome.
    const alpha = page.locator('tr[data-task="alpha"]')
    expect(await alpha.locator('.run-tile').evaluateAll((a) => a.map((e) => e.getAttribute('data-run')))).toEqual([
      '1',
      '5',
      '9',
    ])
    expect(await alpha.locator('.run-tile.s-passed').count()).toBe(2)
    expect(await alpha.locator('.pass-rate').textContent()).toBe('66.7% (2/3)')
    expect(await page.locator('tr[data-task="delta"] .run-tile.s-error').count()).toBe(3)
    expect(await page.locator('tr[data-task="delta"] .pass-rate').textContent()).toBe('—')
    // Accuracy over the three judged tasks, (2/3 + 0 + 1) / 3; delta left out and counted.
    expect(await page.locator('[data-tile="accuracy"] .tile-value').textContent()).toMatch(/^0\.556 ± /)
    expect(await page.locator('[data-tile="no-valid-run"]').textContent()).toContain('1 of 4')
    expect(await page.locator('[data-tile="no-valid-run"]').textContent()).toContain('delta')
    expect(await page.locator('#dataset-passk').textContent()).toContain('pass@k')
    await shot('1-dataset-grid')

    await page.locator('button[data-sort="pass_rate"]').click()
    expect(await rowOrder()).toEqual(['beta', 'alpha', 'gamma', 'delta'])
    expect(await page.locator('th:has(button[data-sort="pass_rate"])').getAttribute('aria-sort')).toBe('ascending')
    await page.locator('button[data-sort="pass_rate"]').click()
    // Best first; a task without a valid run stays last either way.
    expect(await rowOrder()).toEqual(['gamma', 'alpha', 'beta', 'delta'])
    await page.locator('button[data-sort="name"]').click()
    expect(await rowOrder()).toEqual(['alpha', 'beta', 'delta', 'gamma'])
    await shot('2-dataset-sorted')
  })

  it('asks for the key again when a retry of an ended job needs it', async () => {
    // The job had a key and has ended, so it is gone: the API refuses (422) before any retry starts.
    expect(await page.locator('#retry-class').inputValue()).toBe('infra')
    expect(await page.locator('#retry-class option').allTextContents()).toEqual(['infra (3 runs)'])
    await page.locator('#retry-errors').click()
    const prompt = page.locator('form.key-prompt')
    await prompt.waitFor({ timeout: 10_000 })
    expect(await prompt.textContent()).toContain('send it again as openrouter_key')
    await shot('3-retry-needs-key')
    await prompt.getByRole('button', { name: 'Never mind' }).click()
    expect(await prompt.count()).toBe(0)
    // The same from a run's page: delta's first run (run 4) ended in an error.
    await page.locator('.run-tile[data-run="4"]').click()
    await page.waitForURL(/\/runs\/4$/)
    await page.locator('#retry-run').click()
    await page.locator('form.key-prompt').waitFor({ timeout: 10_000 })
    await page.getByRole('button', { name: 'Never mind' }).click()
    expect(await service.db.db.selectFrom('runs').select('retries').where('job_id', '=', gridJob).execute()).toEqual(
      Array.from({ length: 12 }, () => ({ retries: 0 })),
    )
  })

  it('keeps a grid of 100 tasks × 10 runs, repainting only the cells that change', async () => {
    const jobId = await insertDatasetJob(service.db.db, {
      name: 'bench-large',
      status: 'running',
      tasks: Array.from({ length: 100 }, (_, t) => ({
        name: `task-${String(t).padStart(3, '0')}`,
        runs: Array.from({ length: 10 }, (_, k): SeedRun =>
          k < 5 ? ((k + t) % 3 === 0 ? 'failed' : 'passed') : 'queued',
        ),
      })),
    })
    const started = Date.now()
    await page.goto(`${service.api.url}/jobs/${jobId}`)
    await expect.poll(() => page.locator('#task-grid .run-tile').count(), { timeout: 20_000 }).toBe(1000)
    process.stdout.write(`1000-run grid shown in ${Date.now() - started} ms\n`)
    await shot('4-large-grid')
    // Run 601 is task-000's 7th run, still queued. Watch the grid while it passes.
    // (In the page: no DOM types here.)
    await page.evaluate(() => {
      const w = globalThis as any
      w.watched = w.document.querySelector('.run-tile[data-run="601"]')
      w.added = 0
      new w.MutationObserver((records: { addedNodes: unknown[] }[]) => {
        for (const r of records) w.added += r.addedNodes.length
      }).observe(w.document.getElementById('task-grid'), { childList: true, subtree: true })
    })
    expect(await page.locator('.run-tile[data-run="601"]').getAttribute('class')).toContain('s-queued')
    await service.db.db
      .updateTable('runs')
      .set({ ...runColumns('passed'), retries: 2 })
      .where('job_id', '=', jobId)
      .where('run_number', '=', 601)
      .execute()
    // The job's stream looks again within seconds even without a log line to wake it.
    await expect
      .poll(() => page.locator('.run-tile[data-run="601"]').getAttribute('class'), { timeout: 15_000 })
      .toContain('s-passed')
    expect(await page.locator('.run-tile[data-run="601"] .retries').textContent()).toBe('↻2')
    expect(await page.locator('tr[data-task="task-000"] .pass-rate').textContent()).toBe('66.7% (4/6)')
    const { same, added } = await page.evaluate(() => {
      const w = globalThis as any
      return { same: w.watched === w.document.querySelector('.run-tile[data-run="601"]'), added: w.added as number }
    })
    expect(same).toBe(true)
    // The cell's own content, not a thousand new nodes.
    expect(added).toBeLessThan(10)
    await service.db.db.updateTable('jobs').set({ status: 'cancelled' }).where('id', '=', jobId).execute()
  }, 90_000)

  it('pauses, resumes and re-runs a running job from its page', async () => {
    const { status, body } = await upload(service.api.url, {
      file: await slowTask(60),
      fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '3', max_parallel: '1' },
    })
    expect(status).toBe(201)
    const jobId: string = body.job_id
    const jobStatus = async () =>
      (await service.db.db.selectFrom('jobs').select('status').where('id', '=', jobId).executeTakeFirstOrThrow()).status
    let rerunId: string | undefined
    try {
      await page.goto(`${service.api.url}/jobs/${jobId}`)
      await page.locator('#pause-job').waitFor({ timeout: 15_000 })
      expect(await page.locator('#resume-job').isVisible()).toBe(false)
      await page.locator('#pause-job').click()
      await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 30_000 }).toBe('paused')
      expect(await jobStatus()).toBe('paused')
      await page.locator('#resume-job').waitFor({ timeout: 10_000 })
      expect(await page.locator('#pause-job').isVisible()).toBe(false)
      await shot('5-job-paused')
      await page.locator('#resume-job').click()
      await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 30_000 }).toBe('running')
      expect(await jobStatus()).toBe('running')
      await page.locator('#pause-job').waitFor({ timeout: 10_000 })

      // Re-run: one run per task this time; the page moves to the new job, which names its source.
      await page.locator('summary', { hasText: 'Re-run…' }).click()
      expect(await page.locator('#rerun-model').inputValue()).toBe('openai/gpt-4o')
      await page.locator('#rerun-n_runs').fill('1')
      await shot('6-rerun-form')
      await page.getByRole('button', { name: 'Start the new job' }).click()
      await page.waitForURL((url) => /^\/jobs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(jobId), {
        timeout: 30_000,
      })
      rerunId = page.url().split('/').at(-1)!
      await page.locator('dd a', { hasText: jobId }).waitFor({ timeout: 15_000 })
      const rerun = await service.db.db
        .selectFrom('jobs')
        .select(['source_job_id', 'runs_per_task'])
        .where('id', '=', rerunId)
        .executeTakeFirstOrThrow()
      expect(rerun).toEqual({ source_job_id: jobId, runs_per_task: 1 })
    } finally {
      for (const id of [jobId, rerunId]) {
        if (id) await fetch(`${service.api.url}/api/jobs/${id}/cancel`, { method: 'POST' })
      }
    }
  }, 120_000)

  it('compares the jobs ticked in the list: per task, and the paired test in words', async () => {
    // A passes 1, 2, 0, 1, 3 of 4 on t1…t5; B passes 3, 4, 1, 4 and has no valid run of t5.
    const a = await insertDatasetJob(service.db.db, {
      name: 'bench-compare',
      model: 'vendor/model-a',
      tasks: [1, 2, 0, 1, 3].map((passed, i) => ({ name: `t${i + 1}`, runs: judged(4, passed) })),
    })
    const b = await insertDatasetJob(service.db.db, {
      name: 'bench-compare',
      model: 'vendor/model-b',
      tasks: [
        ...[3, 4, 1, 4].map((passed, i) => ({ name: `t${i + 1}`, runs: judged(4, passed) })),
        { name: 't5', runs: ['error:provider', 'error:provider', 'cancelled', 'cancelled'] as SeedRun[] },
      ],
    })
    await page.goto(`${service.api.url}/`)
    await page.locator(`tr[data-job="${a}"]`).waitFor({ timeout: 15_000 })
    expect(await page.locator('#compare-jobs').isDisabled()).toBe(true)
    await page.locator(`input[data-select="${a}"]`).check()
    await page.locator(`input[data-select="${b}"]`).check()
    expect(await page.locator('#compare-jobs').textContent()).toBe('Compare (2)')
    await shot('7-jobs-ticked')
    await page.locator('#compare-jobs').click()
    await page.waitForURL((url) => url.pathname === '/compare')
    expect(new URL(page.url()).searchParams.get('jobs')).toBe(`${a},${b}`)
    // The page's own address serves it too (a link shared, a reload).
    await page.reload()

    const verdict = page.locator(`.verdict[data-job="${b}"]`)
    await verdict.waitFor({ timeout: 15_000 })
    const { body } = await getJson(service.api.url, `/api/compare?jobs=${a},${b}`)
    const test = body.comparison.vs_baseline[0].test
    // Differences 0.5, 0.5, 0.25, 0.75 over four paired tasks.
    expect(test.mean_difference).toBeCloseTo(0.5)
    expect(test.verdict).toBe('more than noise at 5%')
    const text = (await verdict.textContent())!
    expect(text).toContain('B vs A: +0.50 (95% CI ')
    expect(text).toContain(`t=${test.t.toFixed(2)}, df=3, p=${Number(test.p_value.toPrecision(2))}`)
    expect(text).toContain('— more than noise at 5%')
    expect(text).toContain('over 4 paired tasks')
    expect(await page.locator('#compare-tasks tbody tr').count()).toBe(4)
    expect(await page.locator('#compare-tasks tr[data-task="t3"]').textContent()).toBe('t30.0%25.0%+0.25')
    expect(await page.locator('#left-out tr[data-task="t5"]').textContent()).toBe('t5judgedno valid run')
    await shot('8-compare')
    expect(problems).toEqual([])
  })
})
