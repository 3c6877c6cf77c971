/**
 * API entrypoint. Needs DATABASE_URL and TEMPORAL_ADDRESS (the all-in-one `npm start` runs the API
 * itself). Several replicas may run behind a load balancer.
 */
import { startApiRuntime } from '../runtime/api-runtime.js'
import { provideInfrastructure } from '../runtime/infrastructure.js'
import { boot, fail, onShutdownSignal } from '../runtime/process.js'

async function main() {
  const { config, logger } = boot('api')
  try {
    const infra = await provideInfrastructure(config, logger, { embedded: false })
    const api = await startApiRuntime({ config, logger, ...infra })
    onShutdownSignal(logger, () => api.close())
    logger.info('API listening', { url: api.url })
  } catch (err) {
    fail(logger, err)
  }
}

void main()
