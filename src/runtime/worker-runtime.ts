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
import { harnessEnvironment } from '../harness/harbor-command.js'
import { LocalHost } from '../hosts/local-host.js'
import { findExecutable, HARNESS_PLUGINS_DIR } from '../paths.js'
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

export async function createWorkerRuntime(options: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const { config } = options
  const harborBin = findExecutable('harbor', config.harness.harborBin)
  if (!harborBin) {
    throw new HarnessMissingError(
      config.harness.harborBin
        ? `HARBOR_BIN: ${config.harness.harborBin} does not exist`
        : 'the harbor CLI is not installed: run `npm run setup` (installs it into .venv) or set HARBOR_BIN',
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
      taskStoreDir: path.join(config.dataDir, 'tasks'),
      artifactsDir: path.join(config.dataDir, 'artifacts'),
      harborBin,
      harnessEnv: harnessEnvironment({
        path: config.harness.path,
        home: config.harness.home,
        // Our Harbor job plugin first, then whatever the operator adds.
        pythonPath: [HARNESS_PLUGINS_DIR, config.harness.pythonPath].filter(Boolean).join(':'),
        localCostMap: config.harness.localCostMap,
        openRouterBaseUrl: config.harness.openRouterBaseUrl,
      }),
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
