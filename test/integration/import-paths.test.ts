/**
 * Agents and environments by import path: an upload may name only those the operator allows
 * (ALLOWED_IMPORT_PATHS, and DEFAULT_ENVIRONMENT when it is one), and is refused with 422
 * `import_path_not_allowed` otherwise, leaving nothing behind. Built-in names need no entry. The
 * form's catalog offers the allowed ones. Through the routes (`app.request()`), on a real database.
 */
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, uploadTo, type TestApp } from '../helpers/api-app.js'
import { recordAttacks } from '../helpers/reliability.js'
import { buildZip, harborTask } from '../helpers/task-zips.js'

const LISTED_AGENT = 'my_plugins.agents:ListedAgent'
const LISTED_ENVIRONMENT = 'my_plugins.envs:ListedSandbox'
const DEFAULT_ENVIRONMENT = 'my_plugins.envs:DefaultSandbox'
const FIELDS = { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1' }
const KEY = 'sk-or-v1-import-paths-test'

let t: TestApp
let zip: Buffer
beforeAll(async () => {
  t = await createTestApp({
    ALLOWED_IMPORT_PATHS: `${LISTED_AGENT}, ${LISTED_ENVIRONMENT}`,
    DEFAULT_ENVIRONMENT,
  })
  zip = await buildZip(harborTask())
})
afterAll(async () => {
  await t?.close()
})

async function leftovers() {
  const files = async (dir: string) => (await readdir(path.join(t.config.dataDir, dir)).catch(() => [])).length
  const jobs = await t.db.db.selectFrom('jobs').select('id').execute()
  return { jobs: jobs.length, tasks: await files('tasks'), uploads: await files('uploads'), started: t.started.length }
}

describe('an import path not on the list', () => {
  recordAttacks('import_path')
  it.each<[string, Record<string, string>]>([
    ['agent', { agent: 'os:system' }],
    ['agent', { agent: 'my_plugins.agents:OtherAgent', openrouter_key: KEY }],
    ['agent', { harness: 'terminus', agent: 'os:system' }],
    ['environment', { environment: 'subprocess:Popen' }],
    ['environment', { environment: 'acp:Sandbox' }],
    ['agent', { agent: LISTED_ENVIRONMENT.replace('Listed', 'Unlisted'), environment: LISTED_ENVIRONMENT }],
  ])('is refused (%s %o), naming the field and how to allow it, leaving nothing behind', async (field, fields) => {
    const res = await uploadTo(t.app, zip, { ...FIELDS, ...fields })
    expect(res.status).toBe(422)
    expect(res.body.error).toMatchObject({ code: 'import_path_not_allowed', field })
    expect(res.body.error.message).toContain('ALLOWED_IMPORT_PATHS')
    expect(await leftovers()).toEqual({ jobs: 0, tasks: 0, uploads: 0, started: 0 })
  })
})

describe('accepted', () => {
  it.each<[string, Record<string, string>]>([
    ['listed import paths', { agent: LISTED_AGENT, environment: LISTED_ENVIRONMENT, openrouter_key: KEY }],
    ['the default environment, an import path', { agent: 'oracle' }],
    ['the default environment named', { environment: DEFAULT_ENVIRONMENT }],
    ['built-in names', { agent: 'terminus-2', environment: 'docker', openrouter_key: KEY }],
    ['an ACP agent (a built-in shorthand)', { agent: 'acp:claude-code', environment: 'docker', openrouter_key: KEY }],
  ])('%s', async (_name, fields) => {
    const before = await leftovers()
    const res = await uploadTo(t.app, zip, { ...FIELDS, ...fields })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({
      agent: fields['agent'] ?? FIELDS.agent,
      environment: fields['environment'] ?? DEFAULT_ENVIRONMENT,
    })
    expect((await leftovers()).jobs).toBe(before.jobs + 1)
  })
})

it('offers the allowed import paths in the catalog', async () => {
  const res = await t.app.request('/api/harnesses')
  expect(res.status).toBe(200)
  const body = (await res.json()) as any
  expect(body.import_paths).toEqual([LISTED_AGENT, LISTED_ENVIRONMENT, DEFAULT_ENVIRONMENT])
  expect(body.defaults.environment).toBe(DEFAULT_ENVIRONMENT)
})
