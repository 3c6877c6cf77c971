/**
 * The harness registry (src/harness/registry.ts) is the one list of harnesses: the configuration
 * takes each one's CLI (its variable, and its field of a HOSTS entry), the upload takes each one's
 * name and default agent and refuses any other, and the dashboard's choices come from the catalog
 * route. Through the routes (`app.request()`), on a real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENV_KEYS, loadConfig } from '../../src/config.js'
import { harnessEntries, HARNESS_NAMES } from '../../src/harness/registry.js'
import { createTestApp, uploadTo, type TestApp } from '../helpers/api-app.js'
import { buildZip, harborTask } from '../helpers/task-zips.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => {
  await t?.close()
})

describe('the configuration', () => {
  it("takes each harness's CLI for every host, and for one host in HOSTS", () => {
    for (const [name, { cli }] of harnessEntries()) {
      expect(ENV_KEYS).toContain(cli.variable)
      const hosts = JSON.stringify([{ id: 'one', slots: 1, [cli.hostField]: '/opt/one/bin/cli' }])
      const config = loadConfig({ [cli.variable]: '/opt/all/bin/cli', HOSTS: hosts }, '/srv')
      expect(config.harness.bins).toEqual({ [name]: '/opt/all/bin/cli' })
      expect(config.hosts[0]!.bins).toEqual({ [name]: '/opt/one/bin/cli' })
    }
  })
})

describe('the catalog', () => {
  it('offers every harness of the registry, with its default agent', async () => {
    const res = await t.app.request('/api/harnesses')
    expect(res.status).toBe(200)
    const body = (await res.json()) as any
    expect(body.harness_options.map((o: { name: string }) => o.name)).toEqual(HARNESS_NAMES)
    for (const [name, h] of harnessEntries()) {
      expect(body.harness_options).toContainEqual({
        name,
        label: h.label,
        environment: h.choosesEnvironment,
        import_paths: h.importPaths,
        agents_without_model: h.agentsWithoutModel,
      })
      expect(body.defaults.agent[name]).toBe(h.defaultAgent)
    }
    expect(HARNESS_NAMES).toContain(body.defaults.harness)
  })
})

describe('the upload', () => {
  it('refuses a harness the registry does not have, naming those it has', async () => {
    const res = await uploadTo(t.app, await buildZip(harborTask()), { harness: 'third', model: 'openai/gpt-4o' })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({ code: 'invalid_harness', field: 'harness' })
    for (const name of HARNESS_NAMES) expect(res.body.error.message).toContain(`"${name}"`)
  })
})
