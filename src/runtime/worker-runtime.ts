/**
 * Builds the worker side of the service: one Temporal worker on the main task queue (workflows and
 * job bookkeeping, placement), and for each execution host this process serves (WORKER_HOSTS), one
 * on the host's own queue (staging, harness, collection, clean-up) with a service that keeps the
 * host checked, announced and swept.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { NativeConnection, Worker } from '@temporalio/worker'
import type { Registry } from 'prom-client'
import type { Config } from '../config.js'
import { createDb } from '../db/database.js'
import { createJobActivities } from '../activities/job-activities.js'
import { createHostActivities } from '../activities/host-activities.js'
import { batchingLogWriter } from '../db/log-writer.js'
import { listenForWatchedRuns } from '../db/run-watch.js'
import type { Logger } from '../logger.js'
import { createWorkerMetrics, exposition, processMetrics } from '../observability/metrics.js'
import { startMetricsServer, type MetricsServer } from '../observability/metrics-server.js'
import { hostTaskQueue } from '../shared/ids.js'
import { HostService } from './host-service.js'
import { buildDrivers, buildHost, buildRunnerSpec } from './hosts.js'
import { harnessEntries } from '../harness/registry.js'
import { RunnerPool } from '../runners/runner-pool.js'

const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url))

export interface WorkerRuntimeOptions {
  config: Config
  databaseUrl: string
  temporalAddress: string
  masterKey: Buffer
  logger: Logger
}

export interface WorkerRuntime {
  /** Resolves when every worker has stopped. */
  run(): Promise<void>
  /** Stops polling, lets running activities finish or hand over, retires the hosts, closes connections. */
  shutdown(): Promise<void>
  /** The worker's own metrics (without the process's), e.g. for the API of `npm start` to serve too. */
  readonly metricsRegistry: Registry
  /** The worker's and the process's metrics, in Prometheus's text format. */
  metrics(): Promise<string>
  /** Where its metrics server listens, or null when it has none. */
  readonly metricsUrl: string | null
}

export class HarnessMissingError extends Error {
  override name = 'HarnessMissingError'
}

export async function createWorkerRuntime(options: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const { config, logger } = options
  const dbh = createDb(options.databaseUrl)
  // The main queue's database work (placement, which waits on one lock, and the records) on a pool
  // of its own: hundreds of followed harnesses cannot keep it waiting for a connection, nor can
  // placements queued on the lock hold every connection the followers need.
  const jobDbh = createDb(options.databaseUrl, { max: 3 })
  // One writer for the logs of every run this process follows: their reads commit in shared batches.
  const logWriter = batchingLogWriter(dbh.db)
  // The runs the API has open log streams of: followed live whatever the load.
  const watchedRuns = listenForWatchedRuns(options.databaseUrl, (err) =>
    logger.warn('watched-runs listener connection problem', { err }),
  )
  const connection = await NativeConnection.connect({ address: options.temporalAddress })
  const metrics = createWorkerMetrics()
  const scrape = exposition([processMetrics(), metrics.registry])

  const mainWorker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createJobActivities({
      db: jobDbh.db,
      taskQueue: config.temporal.taskQueue,
      logger: logger.child({ queue: 'main' }),
    }),
  })

  const services: HostService[] = []
  const hostWorkers: Worker[] = []
  for (const id of config.workerHosts) {
    const hostConfig = config.hosts.find((h) => h.id === id)!
    const drivers = buildDrivers(config, hostConfig)
    if (Object.keys(drivers).length === 0) {
      const clis = harnessEntries().map(([, h]) => h.cli)
      throw new HarnessMissingError(
        `host ${id}: no harness CLI is installed: run \`npm run setup\` (installs ${clis.map((c) => c.command).join(' and ')} ` +
          `into .venv) or set ${clis.map((c) => c.variable).join(' / ')}`,
      )
    }
    const host = buildHost(config, hostConfig)
    const runnerSpec = buildRunnerSpec(config, hostConfig)
    const runners = runnerSpec ? new RunnerPool(host, runnerSpec, logger.child({ host: id })) : null
    metrics.activeHarnesses.set({ host: id }, 0)
    metrics.liveHarnesses.set({ host: id }, 0)
    services.push(
      new HostService(host, hostConfig.slots, dbh.db, logger.child({ host: id }), {
        keepFiles: config.keepHostFiles,
        runners,
        metrics,
      }),
    )
    hostWorkers.push(
      await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: hostTaskQueue(config.temporal.taskQueue, id),
        activities: createHostActivities({
          db: dbh.db,
          logWriter,
          host,
          drivers,
          runners,
          taskStoreDir: path.join(config.dataDir, 'tasks'),
          allowedImportPaths: config.harness.allowedImportPaths,
          artifactsDir: path.join(config.dataDir, 'artifacts'),
          artifactLimits: { maxBytes: config.limits.artifactBytes, maxFiles: config.limits.artifactFiles },
          masterKey: options.masterKey,
          keepHostFiles: config.keepHostFiles,
          logLimits: { maxBytes: config.limits.logBytesPerRun, maxLineChars: config.limits.logLineChars },
          pollIntervalMs: 250,
          followLiveUpTo: config.followLiveUpTo,
          watchedRuns,
          cancelGraceMs: 90_000,
          logger: logger.child({ host: id }),
          metrics,
        }),
        // Placement keeps a host's runs to its slots; staging and clean-up of neighbouring runs overlap.
        maxConcurrentActivityTaskExecutions: hostConfig.slots + 2,
        // Long harness activities see WORKER_SHUTDOWN after this and leave their process to the next worker.
        shutdownGraceTime: '2 seconds',
      }),
    )
  }
  const { workerMetricsPort } = config.observability
  const metricsServer: MetricsServer | null =
    workerMetricsPort === null
      ? null
      : await startMetricsServer({
          host: config.observability.workerMetricsHost,
          port: workerMetricsPort,
          token: config.observability.metricsToken,
          scrape,
          onError: (err) => logger.warn('metrics scrape failed', { err }),
        })
  if (metricsServer) logger.info('worker metrics served', { url: metricsServer.url })
  // Announce the hosts before taking work, so that placement can use them at once.
  await Promise.all(services.map((s) => s.start()))

  const workers = [mainWorker, ...hostWorkers]
  let running: Promise<void> | null = null
  return {
    run() {
      running ??= Promise.all(workers.map((w) => w.run())).then(async () => {
        await Promise.all(services.map((s) => s.stop()))
        await metricsServer?.close()
        await connection.close()
        await logWriter.close()
        await watchedRuns.close()
        await dbh.close()
        await jobDbh.close()
      })
      return running
    },
    async shutdown() {
      for (const worker of workers) {
        if (worker.getState() === 'RUNNING') worker.shutdown()
      }
      await running
    },
    metricsRegistry: metrics.registry,
    metrics: async () => (await scrape()).body,
    metricsUrl: metricsServer?.url ?? null,
  }
}
