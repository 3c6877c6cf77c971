/**
 * Workflow tests: the service's workflows (the bundle of src/workflows/index.ts, as the worker runs
 * it) on a real Temporal server, each activity a stub that records its calls and does what the test
 * scripts (test/helpers/fake-activities.ts). Durations in the workflows run faster (fast-time.ts):
 * backoffs and the minute a host gets to take up an attempt pass in milliseconds and seconds.
 *
 * The server is the suite's Temporal dev server (test/helpers/global-setup.ts, the project's own
 * `temporal` binary), which fires timers on time rather than up to a second late. The SDK's
 * time-skipping test server is a download that this machine cannot fetch, and a dev server of the
 * test's own would cost start-up time for nothing: every test has task queues of its own.
 */
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client'
import { CancelledFailure } from '@temporalio/common'
import { TestWorkflowEnvironment } from '@temporalio/testing'
import { DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker'
import { expect, inject, onTestFinished } from 'vitest'
import { installTemporalRuntime } from '../../src/runtime/process.js'
import { hostTaskQueue } from '../../src/shared/ids.js'
import type { FakeActivities } from './fake-activities.js'
import { testLogger } from './test-log.js'
import { bundleTestWorkflows } from './workflow-bundle.js'

export interface WorkflowTestEnv {
  client: Client
  /**
   * Starts the workers of `fakes`: its main task queue (the workflows, the job activities) and one
   * worker per host in `hosts` on that host's queue. They stop when the test ends.
   */
  startWorkers(fakes: FakeActivities, hosts: readonly string[]): Promise<Workers>
  close(): Promise<void>
}

export interface Workers {
  /** Starts the worker of a host that had none (its queue's tasks then find a worker). */
  startHost(hostId: string): Promise<void>
  stop(): Promise<void>
}

export async function createWorkflowTestEnv(): Promise<WorkflowTestEnv> {
  // The SDK's own log lines (activities failing on purpose, workers stopping) go to the test log.
  installTemporalRuntime({ logger: testLogger('warn', { component: 'temporal-sdk' }) })
  const bundle = await bundleTestWorkflows(sdkLogger())
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') })
  return {
    client: env.client,
    startWorkers: (fakes, hosts) => startWorkers(env, bundle, fakes, hosts),
    close: () => env.teardown(),
  }
}

async function startWorkers(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundle,
  fakes: FakeActivities,
  hosts: readonly string[],
): Promise<Workers> {
  const running: { worker: Worker; done: Promise<void> }[] = []
  const run = (worker: Worker) => running.push({ worker, done: worker.run() })
  run(
    await Worker.create({
      connection: env.nativeConnection,
      taskQueue: fakes.taskQueue,
      workflowBundle: bundle,
      activities: fakes.jobActivities(),
    }),
  )
  const startHost = async (hostId: string) => {
    run(
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue: hostTaskQueue(fakes.taskQueue, hostId),
        activities: fakes.hostActivities(hostId),
        // Heartbeats reach the server at once, and with them a cancellation.
        maxHeartbeatThrottleInterval: '100 ms',
        shutdownGraceTime: '1 s',
      }),
    )
  }
  for (const hostId of hosts) await startHost(hostId)
  let stopped: Promise<void> | null = null
  const workers: Workers = {
    startHost,
    stop: () =>
      (stopped ??= (async () => {
        for (const { worker } of running) if (worker.getState() === 'RUNNING') worker.shutdown()
        await Promise.all(running.map((r) => r.done))
      })()),
  }
  onTestFinished(() => workers.stop())
  return workers
}

/** The bundler's log lines, to the test log. */
function sdkLogger(): DefaultLogger {
  const log = testLogger('info', { component: 'workflow-bundler' })
  return new DefaultLogger('INFO', (entry) => {
    const level = entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : 'info'
    log[level](entry.message, entry.meta ?? {})
  })
}

/** Expects the workflow to have ended cancelled (its result a cancellation, its status CANCELLED). */
export async function expectCancelled(handle: WorkflowHandle): Promise<void> {
  const err = await handle.result().then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(WorkflowFailedError)
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure)
  expect((await handle.describe()).status.name).toBe('CANCELLED')
}
