/**
 * The dashboard in a real browser (Debian's headless Chromium, driven by playwright-core) against
 * the real service running the real harness: a bad upload's error appears next to its field; a task
 * uploaded through the form shows its run grid filling in live; a run's page shows log lines before
 * the run ends; a job is cancelled with confirmation; with an API token, its streams and downloads
 * go through tickets and the token never appears in a URL. Screenshots of each page are saved under
 * the folder this test prints.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createToken } from '../../src/db/tokens.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { upload } from '../helpers/api-client.js'
import { startTestService, TEST_ENVIRONMENT, type TestService } from '../helpers/service.js'
import { slowTask } from '../helpers/task-zips.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SHOTS = path.join(PROJECT_ROOT, 'test-results', 'screenshots', new Date().toISOString().replace(/[:.]/g, '-'))

let service: TestService
let browser: Browser
let page: Page
let files: string

async function shot(name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`)
  await mkdir(SHOTS, { recursive: true })
  process.stdout.write(`dashboard screenshots: ${SHOTS}\n`)
  service = await startTestService()
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  // Any error the page's script throws, or a policy violation, fails the test.
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(String(err)))
  page.on('console', (m) => m.type() === 'error' && !m.text().includes('status of 4') && problems.push(m.text()))
  ;(page as unknown as { problems: string[] }).problems = problems
  files = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join(os.tmpdir(), 'hr-e2e-')))
  await writeFile(path.join(files, 'slow.zip'), await slowTask(12))
  await writeFile(path.join(files, 'not-a-zip.zip'), 'this is not a zip archive')
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await service?.stop()
})

function problems(): string[] {
  return (page as unknown as { problems: string[] }).problems
}

describe('dashboard', () => {
  let jobId: string

  it('shows a validation error next to the field it concerns', async () => {
    await page.goto(`${service.api.url}/upload`)
    await page.getByRole('heading', { name: 'New job' }).waitFor()
    await page.locator('#f-model').fill('openai/gpt-4o')
    await page.locator('#f-agent').fill('oracle')
    // No file: the page says so itself.
    await page.getByRole('button', { name: 'Start the job' }).click()
    await expect.poll(() => page.locator('#err-file').textContent()).toContain('Choose the task zip')
    // A file that is not a zip: the API's message, next to the file field.
    await page.locator('input[type=file]').setInputFiles(path.join(files, 'not-a-zip.zip'))
    await page.getByRole('button', { name: 'Start the job' }).click()
    await expect.poll(() => page.locator('#err-file').textContent(), { timeout: 15_000 }).toMatch(/zip/i)
    // A bad number of runs: next to that field.
    await page.locator('input[type=file]').setInputFiles(path.join(files, 'slow.zip'))
    await page.locator('#f-n_runs').fill('0')
    await page.getByRole('button', { name: 'Start the job' }).click()
    await expect.poll(() => page.locator('#err-n_runs').textContent(), { timeout: 15_000 }).toMatch(/n_runs/)
    expect(await page.locator('#f-n_runs').getAttribute('aria-invalid')).toBe('true')
    await shot('1-upload-validation-error')
    expect(await service.db.db.selectFrom('jobs').selectAll().execute()).toEqual([])
  })

  it('uploads through the form and fills the run grid in live', async () => {
    await page.locator('#f-n_runs').fill('3')
    await page.locator('summary').click()
    await page.locator('#f-environment').fill(TEST_ENVIRONMENT)
    await page.locator('#f-max_parallel').fill('3')
    await page.getByRole('button', { name: 'Start the job' }).click()
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, { timeout: 120_000 })
    jobId = page.url().split('/').at(-1)!
    const tiles = page.locator('.run-tile')
    await expect.poll(() => tiles.count(), { timeout: 15_000 }).toBe(3)
    // The grid changes without a reload: a run goes running while we watch.
    await page.locator('.run-tile.s-running').first().waitFor({ timeout: 60_000 })
    await shot('2-job-running')
  }, 240_000)

  it("shows a run's log lines before the run ends", async () => {
    await page.locator('.run-tile[data-run="1"]').click()
    await page.waitForURL(/\/runs\/1$/)
    const line = page.locator('#log .line', { hasText: /slow step \d+\/12/ }).first()
    await line.waitFor({ timeout: 60_000 })
    const stateWhileLogging = await page.locator('#run-state').textContent()
    expect(stateWhileLogging).not.toMatch(/passed|failed|error/)
    // Following the log (nothing scrolled), with the agent's phase marked as the current one.
    expect(await page.locator('#log-resume').isVisible()).toBe(false)
    await page.locator('.phase.current[data-phase="agent_execution"]').waitFor({ timeout: 10_000 })
    await shot('3-run-live-log')
    // Then the run ends: outcome, phases, verifier output, attempts.
    await expect.poll(() => page.locator('#run-state').textContent(), { timeout: 90_000 }).toBe('passed')
    await expect.poll(() => page.locator('.phase.done').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    await expect.poll(() => page.locator('#verifier-output').textContent()).toContain('PASS')
    expect(await page.locator('.attempts tbody tr').count()).toBe(1)
    const seqs = await page
      .locator('#log .line')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))))
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
    await shot('4-run-finished')
  }, 150_000)

  it('shows the finished job: metrics, the whole grid passed, charts', async () => {
    await page.getByRole('link', { name: '← Job' }).click()
    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 120_000 }).toBe('completed')
    expect(await page.locator('.run-tile.s-passed').count()).toBe(3)
    expect(await page.locator('.tile', { hasText: 'pass@1' }).textContent()).toContain('100.0%')
    expect(await page.locator('.charts rect').count()).toBeGreaterThan(0)
    await shot('5-job-completed')
  }, 150_000)

  it('cancels a job after confirmation', async () => {
    const { body } = await upload(service.api.url, {
      file: await slowTask(60),
      fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '2' },
    })
    await page.goto(`${service.api.url}/jobs/${body.job_id}`)
    await page.locator('.run-tile.s-running').first().waitFor({ timeout: 60_000 })
    page.once('dialog', (d) => void d.accept())
    await page.locator('#cancel-job').click()
    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 150_000 }).toBe('cancelled')
    expect(await page.locator('.run-tile.s-cancelled').count()).toBe(2)
    await shot('6-job-cancelled')
  }, 200_000)

  it('lists the jobs, and reads in the dark theme', async () => {
    await page.getByRole('link', { name: 'Jobs', exact: true }).click()
    await expect.poll(() => page.locator('table.jobs tbody tr[data-job]').count(), { timeout: 10_000 }).toBe(2)
    expect(await page.locator(`tr[data-job="${jobId}"] .bar`).getAttribute('aria-label')).toBe('3 passed')
    await shot('7-jobs')
    await page.locator('#theme-toggle').click()
    await shot('8-jobs-dark')
    expect(problems()).toEqual([])
  })

  it('with a token: follows streams and downloads through tickets, never with the token in a URL', async () => {
    const { token } = await createToken(service.db.db, 'viewer', true)
    const urls: string[] = []
    page.on('request', (r) => urls.push(r.url()))
    await page.evaluate((t) => (globalThis as any).sessionStorage.setItem('harbor-runner-token', t), token)
    await page.goto(`${service.api.url}/jobs/${jobId}/runs/1`)
    await expect.poll(() => page.locator('#log-state').textContent(), { timeout: 15_000 }).toBe('run over')
    expect(await page.locator('#log .line', { hasText: /slow step 12\/12/ }).count()).toBe(1)

    const [log] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Whole log' }).click(),
    ])
    expect(log.suggestedFilename()).toBe('run-1.log')
    expect(await readFile((await log.path())!, 'utf8')).toContain('slow step 12/12')
    const [zip] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download artifacts (zip)' }).click(),
    ])
    expect(zip.suggestedFilename()).toBe(`job-${jobId}-run-1.zip`)
    expect((await readFile((await zip.path())!)).subarray(0, 2).toString()).toBe('PK')

    await page.getByRole('link', { name: '← Job' }).click()
    await expect.poll(() => page.locator('p.live').textContent(), { timeout: 15_000 }).toBe('job ended')
    await shot('9-job-with-token')

    // The two streams (the run's log, the job's events) and the two downloads, each by its ticket.
    const opened = [
      ...urls.filter((u) => /^\/api\/jobs\/.+\/(events|logs\/stream)$/.test(new URL(u).pathname)),
      log.url(),
      zip.url(),
    ]
    expect([...new Set(opened.map((u) => new URL(u).pathname.split('/').at(-1)))].sort()).toEqual([
      'artifacts',
      'events',
      'logs',
      'stream',
    ])
    expect(opened.filter((u) => !new URL(u).searchParams.has('ticket'))).toEqual([])
    expect([...urls, ...opened].filter((u) => u.includes(token.slice(3)) || u.includes('access_token'))).toEqual([])
    expect(problems()).toEqual([])
  }, 60_000)
})
