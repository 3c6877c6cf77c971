/**
 * Benchmark (not a test): the floor under a run's cost to Temporal, with nothing of ours in it.
 *
 *   npx tsx scripts/bench-temporal-floor.ts [--runs 600]
 *
 * Starts a throwaway Temporal dev server (SQLite file with a write-ahead log, as the service's
 * embedded default) and a worker in this process whose only activity does nothing. Then, one after
 * the other: `--runs` workflows of one activity each started by a client, and one parent workflow
 * starting as many such children, all at once. Prints the wall time and the CPU seconds of the
 * dev server and of this process (worker and client) for each, per run and in all: what starting a
 * run as a workflow costs at least, however cheap the rest is made.
 */
import { Client, Connection } from '@temporalio/client'
import { NativeConnection, Worker } from '@temporalio/worker'
import { randomUUID } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { findExecutable } from '../src/paths.js'
import { startTemporalDevServer } from '../src/services/temporal-dev-server.js'
import { freePort } from '../test/helpers/ports.js'
import { cpuOf } from './lib/proc.js'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '600' } } })
const N = Number(values.runs)
const TASK_QUEUE = 'floor'

/** The dev server's pid: the process whose command line has `start-dev` and its port. */
async function devServerPid(port: number): Promise<number> {
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue
    const cmd = await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '')
    const args = cmd.split('\0')
    if (args.includes('start-dev') && args.includes(String(port))) return Number(d)
  }
  throw new Error('the dev server process was not found')
}

async function main() {
  const bin = findExecutable('temporal', null, process.env.PATH ?? '')
  if (!bin) throw new Error('the temporal CLI was not found: run `npm run setup`')
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hr-temporal-floor-'))
  const port = await freePort()
  const server = await startTemporalDevServer({ bin, dir, port, uiPort: null })
  try {
    const serverPid = await devServerPid(port)
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: server.address }),
      taskQueue: TASK_QUEUE,
      workflowsPath: fileURLToPath(new URL('./temporal-floor/workflows.ts', import.meta.url)),
      activities: { noop: async () => {} },
      maxConcurrentActivityTaskExecutions: N + 2,
    })
    const running = worker.run()
    const client = new Client({ connection: await Connection.connect({ address: server.address }) })

    const measure = async (label: string, work: () => Promise<void>) => {
      const server0 = (await cpuOf(serverPid)).self
      const self0 = process.cpuUsage()
      const t0 = performance.now()
      await work()
      const wall = (performance.now() - t0) / 1000
      const serverCpu = (await cpuOf(serverPid)).self - server0
      const self = process.cpuUsage(self0)
      const selfCpu = (self.user + self.system) / 1e6
      const ms = (s: number) => `${((s / N) * 1000).toFixed(1)} ms`
      console.log(
        `| ${label} | ${wall.toFixed(1)} s | ${serverCpu.toFixed(1)} s (${ms(serverCpu)}) | ${selfCpu.toFixed(1)} s (${ms(selfCpu)}) |`,
      )
    }

    // Warm-up: the first workflow tasks load the bundle.
    await client.workflow.execute('floorRun', { taskQueue: TASK_QUEUE, workflowId: randomUUID() })
    console.log(`Temporal's floor for ${N} runs, each a workflow of one activity that does nothing (2 CPUs)\n`)
    console.log('| started by | wall | dev server CPU (per run) | worker + client CPU (per run) |')
    console.log('| --- | ---: | ---: | ---: |')
    await measure(`a client, ${N} at once`, async () => {
      const handles = await Promise.all(
        Array.from({ length: N }, () =>
          client.workflow.start('floorRun', { taskQueue: TASK_QUEUE, workflowId: randomUUID() }),
        ),
      )
      await Promise.all(handles.map((h) => h.result()))
    })
    await measure(`one parent, ${N} children at once`, () =>
      client.workflow.execute('floorJob', { taskQueue: TASK_QUEUE, workflowId: randomUUID(), args: [N, N] }),
    )
    worker.shutdown()
    await running
    await client.connection.close()
  } finally {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
