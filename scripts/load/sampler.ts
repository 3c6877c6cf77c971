/** Every 5 s while the load runs: resident memory, CPU, log rows written, runs completed. */
import type { Db } from '../../src/db/database.js'
import { descendantsOf, residentMiB, sumOver } from '../lib/proc.js'
import type { CpuAccount } from './cpu-account.js'
import { sleep } from './stats.js'

export interface ResourceSamples {
  workerRss: number[]
  apiRss: number[]
  runnersRss: number[]
  environmentsRss: number[]
  rowsPerSec: number[]
  /** Runs completed at the last look. */
  done: number
}

export interface SampledProcesses {
  workerPids: (number | undefined)[]
  apiPid: number | undefined
  runnerPids: Set<number>
  cpu: CpuAccount
}

/** The log rows written so far (the sum of runs' log_seq), of the given jobs or of all. */
export async function logRows(db: Db, jobIds?: string[]): Promise<number> {
  let query = db.selectFrom('runs').select((eb) => eb.fn.sum<string>('log_seq').as('s'))
  if (jobIds) query = query.where('job_id', 'in', jobIds)
  return Number((await query.executeTakeFirstOrThrow()).s ?? 0)
}

/**
 * Samples until the load's `runs` runs completed, or past the ideal makespan once no run finished
 * for 3 minutes; reports progress on stderr.
 */
export async function sampleUntilDone(
  db: Db,
  procs: SampledProcesses,
  load: { jobIds: string[]; runs: number; slots: number; duration: number; t0: number; seqBefore: number },
): Promise<ResourceSamples> {
  const { jobIds, runs: N, slots: C, duration: D, t0 } = load
  const s: ResourceSamples = { workerRss: [], apiRss: [], runnersRss: [], environmentsRss: [], rowsPerSec: [], done: 0 }
  let lastSeq = load.seqBefore
  let lastAt = Date.now()
  let lastProgress = Date.now()
  while (s.done < N) {
    await sleep(5000)
    await sampleProcesses(procs, s)
    const row = await db
      .selectFrom('runs')
      .select((eb) => [
        eb.fn.sum<string>('log_seq').as('s'),
        eb.fn.countAll<string>().filterWhere('status', '=', 'completed').as('done'),
      ])
      .where('job_id', 'in', jobIds)
      .executeTakeFirstOrThrow()
    const seq = Number(row.s) + load.seqBefore
    s.rowsPerSec.push(((seq - lastSeq) * 1000) / (Date.now() - lastAt))
    lastSeq = seq
    lastAt = Date.now()
    if (Number(row.done) > s.done) lastProgress = Date.now()
    s.done = Number(row.done)
    // Give up only past the ideal makespan, and after 3 minutes in which no run finished.
    if (Date.now() - t0 > (Math.ceil(N / C) * D + 180) * 1000 && Date.now() - lastProgress > 180_000) {
      process.stderr.write(`  no run finished for 3 minutes: reporting ${s.done}/${N}\n`)
      break
    }
    process.stderr.write(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${s.done}/${N} runs completed\n`)
  }
  return s
}

async function sampleProcesses(procs: SampledProcesses, s: ResourceSamples): Promise<void> {
  s.workerRss.push(Math.max(...(await Promise.all(procs.workerPids.map((pid) => residentMiB(pid))))))
  s.apiRss.push(await residentMiB(procs.apiPid))
  s.runnersRss.push(await sumOver([...procs.runnerPids], residentMiB))
  const below = (await Promise.all([...procs.runnerPids].map(descendantsOf))).flat()
  s.environmentsRss.push(await sumOver(below, residentMiB))
  await procs.cpu.sample()
}
