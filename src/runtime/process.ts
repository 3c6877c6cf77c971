/** Shared start-up and shutdown plumbing of the entrypoints. */
import { DefaultLogger, Runtime } from '@temporalio/worker'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { createLogger, type Logger } from '../logger.js'

/** Loads config and a logger, or exits with the configuration problem. */
export function boot(component: string): { config: Config; logger: Logger } {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`harbor-runner: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  return { config, logger: createLogger(config.logLevel, { component }) }
}

let runtimeInstalled = false

/**
 * The Temporal SDK's own logging, quiet (warnings and errors) and as JSON lines like ours, through
 * `logger` when one is given; its metrics served at `metricsAddress` (host:port, `/metrics`) when one
 * is given; and we, not the SDK, decide what a signal does. Once per process: a second call changes
 * nothing.
 */
export function installTemporalRuntime(options: { metricsAddress?: string | null; logger?: Logger } = {}): void {
  if (runtimeInstalled) return
  const log = options.logger ?? createLogger('warn', { component: 'temporal-sdk' })
  const sdkLogger = new DefaultLogger('WARN', (entry) => {
    // Expected: the host's worker serves activities only.
    if (entry.message.startsWith('No workflows registered')) return
    const level = entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : 'info'
    log[level](entry.message, entry.meta ?? {})
  })
  try {
    Runtime.install({
      logger: sdkLogger,
      shutdownSignals: [],
      ...(options.metricsAddress
        ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.metricsAddress } } } }
        : {}),
    })
  } catch (err) {
    // The one way this fails in practice: the metrics port is taken.
    if (!options.metricsAddress) throw err
    throw new ConfigError(`TEMPORAL_METRICS_ADDRESS ${options.metricsAddress}: ${(err as Error).message}`)
  }
  runtimeInstalled = true
}

/**
 * Runs `shutdown` once on SIGINT/SIGTERM. A second signal more than a second later (a user pressing
 * Ctrl-C again) exits at once; one right after the first is the same signal relayed by a wrapper
 * (npm, tsx) and is ignored.
 */
export function onShutdownSignal(logger: Logger, shutdown: (signal: string) => Promise<void>): void {
  let stoppingSince: number | null = null
  const handler = (signal: NodeJS.Signals) => {
    if (stoppingSince !== null) {
      if (Date.now() - stoppingSince < 1000) return
      logger.warn('second signal: exiting now', { signal })
      process.exit(130)
    }
    stoppingSince = Date.now()
    logger.info('shutting down', { signal })
    shutdown(signal).then(
      () => process.exit(0),
      (err) => {
        logger.error('shutdown failed', { err })
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}

/** Ends the process with a readable message for errors the user can act on. */
export function fail(logger: Logger, err: unknown): never {
  const message = err instanceof Error ? err.message : String(err)
  logger.error(message, err instanceof ConfigError ? {} : { err })
  process.stderr.write(`harbor-runner: ${message}\n`)
  process.exit(1)
}
