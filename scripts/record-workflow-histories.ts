/**
 * Records the histories that test/workflows/replay.test.ts replays: a few jobs run to their end by
 * the workflows of this checkout, on a throwaway Temporal dev server, with the workflow tests' stub
 * activities (test/helpers/fake-activities.ts) and bundle (test/helpers/workflow-bundle.ts, the
 * durations run faster). Each job's workflow history is written, with its run groups' and a few of
 * its runs', as the JSON that `temporal workflow show --output json` prints.
 *
 *   npx tsx scripts/record-workflow-histories.ts [--out test/fixtures/workflow-histories/<version>]
 *
 * Run it before a change to the workflows and keep what it writes beside the histories already
 * there: a job started by the workflows as they are now must replay under the changed ones (a
 * worker upgraded mid-job replays it), and the replay test shows whether it does.
 *
 * The jobs:
 * - `mixed-outcomes`: 3 runs, 2 at once, up to 3 attempts: an agent error (final), an infra error
 *   twice (a backoff after each) then a pass, and a run that waits for a place and is first placed
 *   on a host whose worker never takes its attempt (passed over after the schedule-to-start timeout);
 * - `run-groups`: 55 runs, 5 at once: through two run groups;
 * - `cancelled`: 4 runs, 2 at once, cancelled while the first two run;
 * - `cancelled-groups`: 55 runs, 4 at once, cancelled while runs of both groups run.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client'
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { findExecutable } from '../src/paths.js'
import { installTemporalRuntime } from '../src/runtime/process.js'
import { startTemporalDevServer } from '../src/services/temporal-dev-server.js'
import { hostTaskQueue, jobWorkflowId, runGroupWorkflowId, runWorkflowId } from '../src/shared/ids.js'
import { eventually } from '../test/helpers/eventually.js'
import { failedWith, FakeActivities, passed, untilCancelled } from '../test/helpers/fake-activities.js'
import { historyToJson } from '../test/helpers/history-json.js'
import { freePort } from '../test/helpers/ports.js'
import { bundleTestWorkflows } from '../test/helpers/workflow-bundle.js'

const { values } = parseArgs({ options: { out: { type: 'string', default: 'test/fixtures/workflow-histories' } } })
const OUT = path.resolve(values.out)

interface Scenario {
  name: string
  nRuns: number
  maxParallel: number
  maxAttempts: number
  /** Hosts of the job; those in `workerless` have no worker. */
  hosts: string[]
  workerless?: string[]
  script(fakes: FakeActivities): void
  /** What happens once the job has started (a cancel); the default waits for it to end. */
  drive?(fakes: FakeActivities, job: WorkflowHandle): Promise<void>
  /** Workflows recorded beside the job's own, by their ids' ends (`run-2`, `group-1`). */
  children: string[]
}

const SCENARIOS: Scenario[] = [
  {
    name: 'mixed-outcomes',
    nRuns: 3,
    maxParallel: 2,
    maxAttempts: 3,
    hosts: ['a', 'b'],
    workerless: ['b'],
    script(fakes) {
      let infraErrors = 0
      fakes.attempt = async (_host, ref) => {
        if (ref.runNumber === 1) return failedWith('agent')
        if (ref.runNumber === 2 && infraErrors < 2) {
          infraErrors++
          return failedWith('infra')
        }
        return passed()
      }
      // Run 3 finds no place at once, then is given host b (no worker) before a.
      fakes.place = (input, how) => {
        if (input.runNumber !== 3) return 'a'
        if (how === 'try') return null
        return input.avoid?.includes('b') ? 'a' : 'b'
      }
    },
    children: ['run-1', 'run-2', 'run-3'],
  },
  {
    name: 'run-groups',
    nRuns: 55,
    maxParallel: 5,
    maxAttempts: 2,
    hosts: ['a'],
    script() {},
    children: ['group-1', 'group-2', 'run-1', 'run-55'],
  },
  {
    name: 'cancelled',
    nRuns: 4,
    maxParallel: 2,
    maxAttempts: 2,
    hosts: ['a'],
    script: (fakes) => void (fakes.attempt = untilCancelled),
    drive: (fakes, job) => cancelWhenRunning(fakes, job, 2),
    children: ['run-1', 'run-2'],
  },
  {
    name: 'cancelled-groups',
    nRuns: 55,
    maxParallel: 4,
    maxAttempts: 2,
    hosts: ['a'],
    script: (fakes) => void (fakes.attempt = untilCancelled),
    drive: (fakes, job) => cancelWhenRunning(fakes, job, 4),
    children: ['group-1', 'group-2', 'run-1', 'run-51'],
  },
]

async function cancelWhenRunning(fakes: FakeActivities, job: WorkflowHandle, n: number): Promise<void> {
  const seen = await eventually(
    () => fakes.inFlight.size,
    (size) => size >= n,
    { timeoutMs: 30_000 },
  )
  if (seen < n) throw new Error(`only ${seen} of ${n} runs started`)
  await job.cancel()
}

async function startWorkers(address: string, bundle: WorkflowBundle, fakes: FakeActivities, hosts: string[]) {
  const connection = await NativeConnection.connect({ address })
  const workers = [
    await Worker.create({
      connection,
      taskQueue: fakes.taskQueue,
      workflowBundle: bundle,
      activities: fakes.jobActivities(),
    }),
  ]
  for (const hostId of hosts)
    workers.push(
      await Worker.create({
        connection,
        taskQueue: hostTaskQueue(fakes.taskQueue, hostId),
        activities: fakes.hostActivities(hostId),
        maxHeartbeatThrottleInterval: '100 ms',
        shutdownGraceTime: '1 s',
      }),
    )
  const running = workers.map((w) => w.run())
  return async () => {
    for (const w of workers) w.shutdown()
    await Promise.all(running)
    await connection.close()
  }
}

async function record(client: Client, address: string, bundle: WorkflowBundle, s: Scenario, jobId: string) {
  const fakes = new FakeActivities(s.hosts)
  s.script(fakes)
  const served = s.hosts.filter((h) => !s.workerless?.includes(h))
  const stop = await startWorkers(address, bundle, fakes, served)
  try {
    const job = await client.workflow.start('jobWorkflow', {
      taskQueue: fakes.taskQueue,
      workflowId: jobWorkflowId(jobId),
      args: [
        {
          jobId,
          nRuns: s.nRuns,
          maxParallel: s.maxParallel,
          maxAttempts: s.maxAttempts,
          label: { taskName: 'hello', harness: 'harbor', agent: 'oracle', model: 'openai/gpt-4o' },
        },
      ],
    })
    await s.drive?.(fakes, job)
    const status = await job.result().then(
      () => 'completed',
      (err: unknown) => `ended: ${(err as Error).message}`,
    )
    const dir = path.join(OUT, s.name)
    await mkdir(dir, { recursive: true })
    const ids: Record<string, string> = { job: jobWorkflowId(jobId) }
    for (const child of s.children) ids[child] = childWorkflowId(jobId, child)
    for (const [file, workflowId] of Object.entries(ids)) {
      const history = await client.workflow.getHandle(workflowId).fetchHistory()
      await writeFile(path.join(dir, `${file}.json`), historyToJson(history) + '\n')
    }
    console.log(`${s.name}: job ${status}; wrote ${Object.keys(ids).join(', ')}`)
  } finally {
    await stop()
  }
}

function childWorkflowId(jobId: string, child: string): string {
  const [kind, n] = child.split('-') as ['run' | 'group', string]
  return kind === 'run' ? runWorkflowId(jobId, Number(n)) : runGroupWorkflowId(jobId, Number(n))
}

async function main() {
  const bin = findExecutable('temporal', process.env.TEMPORAL_BIN ?? null, process.env.PATH ?? '')
  if (!bin) throw new Error('the temporal CLI was not found: run `npm run setup`')
  installTemporalRuntime()
  const server = await startTemporalDevServer({
    bin,
    dir: null,
    port: await freePort(),
    uiPort: null,
    // Timers fire on time: the backoffs last milliseconds (as in test/helpers/global-setup.ts).
    dynamicConfig: { 'history.timerProcessorMaxTimeShift': '10ms' },
  })
  try {
    const bundle = await bundleTestWorkflows()
    const client = new Client({ connection: await Connection.connect({ address: server.address }) })
    // Fixed job ids: the same workflow ids each time it is run.
    for (const [i, s] of SCENARIOS.entries())
      await record(client, server.address, bundle, s, `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`)
    await client.connection.close()
  } finally {
    await server.stop()
  }
}

await main()
