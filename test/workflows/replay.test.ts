/**
 * Jobs started by earlier versions of the workflows carry on under these: every history recorded
 * in test/fixtures/workflow-histories (a job's workflow, its run groups, some of its runs, as an
 * earlier version ran them to their end) replays under the workflows of this checkout without a
 * nondeterminism error. A worker upgraded mid-job replays the job's history so far the same way, so
 * a change that makes the workflows issue other commands for the same events (another activity, the
 * same ones in another order, a child workflow more or less) fails here unless it is gated by
 * `patched()`. No server: the SDK's replay worker, on the workflow tests' bundle (the histories were
 * recorded with its interceptors, test/helpers/workflow-bundle.ts).
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker'
import { beforeAll, describe, expect, it } from 'vitest'
import { installTemporalRuntime } from '../../src/runtime/process.js'
import { historyFromJson } from '../helpers/history-json.js'
import { testLogger } from '../helpers/test-log.js'
import { bundleTestWorkflows } from '../helpers/workflow-bundle.js'

const HISTORIES = fileURLToPath(new URL('../fixtures/workflow-histories', import.meta.url))

/** The jobs each recorded version holds (scripts/record-workflow-histories.ts). */
const JOBS = ['mixed-outcomes', 'run-groups', 'cancelled', 'cancelled-groups']

/** Each history file, as `<version>/<job>/<workflow>.json`. */
async function historyFiles(): Promise<string[]> {
  const entries = await readdir(HISTORIES, { recursive: true })
  return entries.filter((f) => f.endsWith('.json')).sort()
}

const files = await historyFiles()
const versions = [...new Set(files.map((f) => f.split(path.sep)[0]!))]

let bundle: WorkflowBundle
beforeAll(async () => {
  installTemporalRuntime({ logger: testLogger('warn', { component: 'temporal-sdk' }) })
  bundle = await bundleTestWorkflows(new DefaultLogger('WARN'))
})

describe('recorded histories', () => {
  it('are there: each recorded version has every job, its job workflow and more', () => {
    expect(versions.length).toBeGreaterThan(0)
    for (const version of versions)
      for (const job of JOBS) {
        const recorded = files.filter((f) => f.startsWith(path.join(version, job) + path.sep))
        expect(recorded).toContain(path.join(version, job, 'job.json'))
        expect(recorded.length).toBeGreaterThan(1)
      }
  })

  it.each(files)('%s replays under the current workflows', async (file) => {
    const history = historyFromJson(await readFile(path.join(HISTORIES, file), 'utf8'))
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, file)
  })
})
