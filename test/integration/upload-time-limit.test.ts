/**
 * A job's time limit (the harness activity stops a run that passes it: test/activities): the
 * task's own timeouts, as the harness's task model reads them, × the job's timeout multiplier, plus a
 * margin, and never above RUN_TIME_LIMIT_MAX_SEC. Through the upload route (`app.request()`) with the
 * real task checker, on a real database.
 */
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { createTestApp, taskChecker, uploadTo, type TestApp } from '../helpers/api-app.js'
import { zipDirectory } from '../helpers/task-zips.js'

const checker = taskChecker()
const apps: TestApp[] = []
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()))
  await checker.close()
})

/** The margin over the task's own timeouts (src/api/routes/upload.ts). */
const MARGIN_SEC = 300

async function timeLimitOf(app: TestApp, multiplier: number): Promise<number> {
  const zip = await zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass'))
  const fields = { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1', timeout_multiplier: String(multiplier) }
  const res = await uploadTo(app.app, zip, fields)
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.tasks[0].run_time_limit_sec
}

it("is the task's timeouts × the multiplier plus a margin", async () => {
  const app = await createTestApp({}, { taskChecker: checker })
  apps.push(app)
  const once = await timeLimitOf(app, 1)
  const twice = await timeLimitOf(app, 2)
  expect(once).toBeGreaterThan(MARGIN_SEC)
  expect(twice - MARGIN_SEC).toBe(2 * (once - MARGIN_SEC))
})

it('is never above RUN_TIME_LIMIT_MAX_SEC', async () => {
  const app = await createTestApp({ RUN_TIME_LIMIT_MAX_SEC: '20' }, { taskChecker: checker })
  apps.push(app)
  expect(await timeLimitOf(app, 1)).toBe(20)
})
