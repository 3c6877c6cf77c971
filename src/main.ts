/**
 * The all-in-one command (`npm start`): on one machine with nothing installed, starts the embedded
 * PostgreSQL and Temporal dev server (unless DATABASE_URL / TEMPORAL_ADDRESS point elsewhere),
 * migrates, and runs one worker for the local host and the API. Ctrl-C stops everything it started;
 * harness processes still running are stopped too, and their runs resume as new attempts next time.
 */
import { startApiRuntime } from './runtime/api-runtime.js'
import { provideInfrastructure } from './runtime/infrastructure.js'
import { boot, fail, installTemporalRuntime, onShutdownSignal } from './runtime/process.js'
import { createWorkerRuntime } from './runtime/worker-runtime.js'
import { LocalHost } from './hosts/local-host.js'
import { execa } from 'execa'

async function main() {
  const { config, logger } = boot('main')
  try {
    installTemporalRuntime({ metricsAddress: config.observability.temporalMetricsAddress })
    const infra = await provideInfrastructure(config, logger, { embedded: true })
    const worker = await createWorkerRuntime({ config, logger, ...infra }).catch(async (err) => {
      await infra.stop()
      throw err
    })
    const workerDone = worker.run()
    // One process: the API's /metrics shows the worker's metrics too.
    const moreMetrics = [worker.metricsRegistry]
    const api = await startApiRuntime({ config, logger, ...infra, moreMetrics }).catch(async (err) => {
      await worker.shutdown()
      await infra.stop()
      throw err
    })

    onShutdownSignal(logger, async () => {
      await api.close()
      await worker.shutdown()
      let stopped = 0
      for (const host of config.hosts.filter((h) => !h.ssh && config.workerHosts.includes(h.id))) {
        stopped += await new LocalHost(host.id, host.workDir).stopAllHarnesses(30_000)
      }
      if (stopped > 0) logger.info('stopped running harness processes; their runs resume as new attempts', { stopped })
      await infra.stop()
    })
    workerDone.catch((err) => fail(logger, err))

    const docker = await dockerStatus()
    if (docker !== 'ok' && config.harness.defaultEnvironment === 'docker') {
      logger.warn('Docker is not usable on this host: runs in the docker environment will end as infra errors', {
        docker,
      })
    }
    process.stdout.write(
      [
        '',
        `  Harbor Runner is up.`,
        `  API            ${api.url}   (try: curl ${api.url}/api/health)`,
        `  Temporal UI    ${infra.temporalUiUrl ?? '(external Temporal; see its own UI)'}`,
        `  Data dir       ${config.dataDir}`,
        `  Docker         ${docker === 'ok' ? 'available' : `${docker} (runs with environment=docker will fail as infra errors)`}`,
        `  Press Ctrl-C to stop everything.`,
        '',
      ].join('\n') + '\n',
    )
  } catch (err) {
    fail(logger, err)
  }
}

/** Whether this execution host can run Harbor's default Docker environment. */
async function dockerStatus(): Promise<string> {
  const result = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 5000 })
  if (result.failed && (result as { code?: string }).code === 'ENOENT') return 'not installed'
  return result.exitCode === 0 ? 'ok' : 'daemon not running'
}

void main()
