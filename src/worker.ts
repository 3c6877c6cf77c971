/**
 * Worker entrypoint: serves the main task queue and the local execution host's queue.
 * Needs DATABASE_URL and TEMPORAL_ADDRESS (the all-in-one `npm start` runs one worker itself).
 */
import { provideInfrastructure } from './runtime/infrastructure.js'
import { boot, fail, installTemporalRuntime, onShutdownSignal } from './runtime/process.js'
import { createWorkerRuntime } from './runtime/worker-runtime.js'

async function main() {
  const { config, logger } = boot('worker')
  try {
    installTemporalRuntime({ metricsAddress: config.observability.temporalMetricsAddress })
    const infra = await provideInfrastructure(config, logger, { embedded: false })
    const worker = await createWorkerRuntime({ config, logger, ...infra })
    onShutdownSignal(logger, () => worker.shutdown())
    logger.info('worker started', { taskQueue: config.temporal.taskQueue, hosts: config.workerHosts })
    await worker.run()
  } catch (err) {
    fail(logger, err)
  }
}

void main()
