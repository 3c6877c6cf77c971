/**
 * Keeps one execution host in service for a worker: prepares it, checks it every few seconds (its
 * trial runners too: started, drained when outdated, measured) and announces the result (so
 * placement sends runs only to live, healthy hosts), and sweeps away what finished or crashed runs
 * left on it.
 */
import type { Db } from '../db/database.js'
import { announceHost, retireHost } from '../db/hosts.js'
import type { ManagedHost } from '../hosts/execution-host.js'
import type { Logger } from '../logger.js'
import type { WorkerMetrics } from '../observability/metrics.js'
import type { RunnerPool, RunnerReport } from '../runners/runner-pool.js'
import { sweepHost } from './host-sweep.js'

const CHECK_EVERY_MS = 5_000
const SWEEP_EVERY_MS = 5 * 60_000

export class HostService {
  #timer: NodeJS.Timeout | null = null
  #prepared = false
  #lastSweep = 0
  #stopped = false
  #tick: Promise<void> = Promise.resolve()
  #measured = new Set<string>()

  constructor(
    private readonly host: ManagedHost,
    private readonly slots: number,
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly options: { keepFiles: boolean; runners: RunnerPool | null; metrics?: WorkerMetrics },
  ) {}

  /** Checks the host now and then every few seconds. Never throws: a host that fails is announced unhealthy. */
  async start(): Promise<void> {
    await this.#check()
    this.#schedule()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    await this.#tick
    await retireHost(this.db, this.host.id).catch((err) =>
      this.logger.warn('could not retire host', { host: this.host.id, err }),
    )
    await this.host.close()
  }

  /** The runners' memory and attempts, as gauges (series of runners that are gone are dropped). */
  #measure(reports: readonly RunnerReport[]): void {
    const metrics = this.options.metrics
    if (!metrics) return
    const now = new Set<string>()
    for (const { id, state } of reports) {
      if (!state) continue
      now.add(id)
      const labels = { host: this.host.id, runner: id }
      metrics.runnerResidentBytes.set(labels, state.rss_bytes)
      metrics.runnerAttempts.set(labels, state.attempts)
    }
    for (const id of this.#measured) {
      if (now.has(id)) continue
      metrics.runnerResidentBytes.remove({ host: this.host.id, runner: id })
      metrics.runnerAttempts.remove({ host: this.host.id, runner: id })
    }
    this.#measured = now
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#tick = this.#check().finally(() => this.#schedule())
    }, CHECK_EVERY_MS)
  }

  async #check(): Promise<void> {
    let problem: string | null = null
    try {
      if (!this.#prepared) await this.host.prepare()
      this.#prepared = true
      await this.host.check()
      if (this.options.runners) this.#measure(await this.options.runners.ensure())
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err)
      // Prepare again once it answers: it may be a new machine behind the same name.
      this.#prepared = false
    }
    await announceHost(this.db, {
      id: this.host.id,
      kind: this.host.kind,
      address: this.host.address,
      slots: this.slots,
      healthy: problem === null,
      problem,
    }).catch((err) => this.logger.warn('could not announce host', { host: this.host.id, err }))
    if (problem) {
      this.logger.warn('host unavailable', { host: this.host.id, problem })
      return
    }
    if (!this.options.keepFiles && Date.now() - this.#lastSweep > SWEEP_EVERY_MS) {
      this.#lastSweep = Date.now()
      await sweepHost(this.db, this.host, this.logger).catch((err) =>
        this.logger.warn('sweep failed', { host: this.host.id, err }),
      )
    }
  }
}
