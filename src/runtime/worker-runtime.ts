/**
 * Builds the worker side of the service: one Temporal worker on the main task queue (workflows and
 * job bookkeeping) and one on the local host's queue (staging, harness, collection, clean-up).
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { NativeConnection, Worker } from '@temporalio/worker'
import type { Config } from '../config.js'
import { createDb } from '../db/database.js'
import { createJobActivities } from '../activities/job-activities.js'
import { createHostActivities } from '../activities/host-activities.js'
import type { HarnessDriver } from '../harness/driver.js'
import { harnessEnvironment } from '../harness/harbor-command.js'
import { harborDriver } from '../harness/harbor-driver.js'
import { tbHarnessEnvironment } from '../harness/terminus-command.js'
import { terminusDriver } from '../harness/terminus-driver.js'
import { LocalHost } from '../hosts/local-host.js'
import { findExecutable, HARNESS_PLUGINS_DIR, VENV_BIN } from '../paths.js'
import type { Harness } from '../shared/status.js'
import { hostTaskQueue } from '../shared/ids.js'

const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url))

export interface WorkerRuntimeOptions {
  config: Config
  databaseUrl: string
  temporalAddress: string
  masterKey: Buffer
}

export interface WorkerRuntime {
  /** Resolves when both workers have stopped. */
  run(): Promise<void>
  /** Stops polling, lets running activities finish or hand over, then closes connections. */
  shutdown(): Promise<void>
}

export class HarnessMissingError extends Error {
  override name = 'HarnessMissingError'
}

/** A driver for each harness whose CLI this host has. */
function harnessDrivers(config: Config): Partial<Record<Harness, HarnessDriver>> {
  const base = {
    // The harness CLIs' own environment first: Terminal-Bench's agents call `python`, `tb` itself.
    path: [VENV_BIN, config.harness.path].join(':'),
    home: config.harness.home,
    // Our Harbor job plugin first, then whatever the operator adds.
    pythonPath: [HARNESS_PLUGINS_DIR, config.harness.pythonPath].filter(Boolean).join(':'),
    localCostMap: config.harness.localCostMap,
    openRouterBaseUrl: config.harness.openRouterBaseUrl,
  }
  const drivers: Partial<Record<Harness, HarnessDriver>> = {}
  const harbor = findExecutable('harbor', config.harness.harborBin)
  if (harbor) drivers.harbor = harborDriver({ bin: harbor, env: harnessEnvironment(base) })
  const tb = findExecutable('tb', config.harness.tbBin)
  if (tb) drivers.terminus = terminusDriver({ bin: tb, env: tbHarnessEnvironment(base) })
  return drivers
}

export async function createWorkerRuntime(options: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const { config } = options
  const drivers = harnessDrivers(config)
  if (Object.keys(drivers).length === 0) {
    throw new HarnessMissingError(
      'no harness CLI is installed: run `npm run setup` (installs harbor and tb into .venv) or set HARBOR_BIN / TB_BIN',
    )
  }
  const dbh = createDb(options.databaseUrl)
  const connection = await NativeConnection.connect({ address: options.temporalAddress })
  const host = new LocalHost(config.host.id, config.host.workDir)

  const mainWorker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createJobActivities({ db: dbh.db, taskQueue: config.temporal.taskQueue, hostId: config.host.id }),
  })
  const hostWorker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: hostTaskQueue(config.temporal.taskQueue, config.host.id),
    activities: createHostActivities({
      db: dbh.db,
      host,
      drivers,
      taskStoreDir: path.join(config.dataDir, 'tasks'),
      artifactsDir: path.join(config.dataDir, 'artifacts'),
      masterKey: options.masterKey,
      keepHostFiles: config.host.keepFiles,
      pollIntervalMs: 250,
      cancelGraceMs: 90_000,
    }),
    // A slot is a harness running on this host; staging and collection are short and take one too.
    maxConcurrentActivityTaskExecutions: config.host.slots,
    // Long harness activities see WORKER_SHUTDOWN after this and leave their process to the next worker.
    shutdownGraceTime: '2 seconds',
  })

  let running: Promise<void> | null = null
  return {
    run() {
      running ??= Promise.all([mainWorker.run(), hostWorker.run()]).then(async () => {
        await connection.close()
        await dbh.close()
      })
      return running
    },
    async shutdown() {
      for (const worker of [mainWorker, hostWorker]) {
        if (worker.getState() === 'RUNNING') worker.shutdown()
      }
      await running
    },
  }
}
