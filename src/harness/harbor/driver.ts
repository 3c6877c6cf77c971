/** The `harbor` harness (Harbor trials in the host's warm runners) for the activities; see driver.ts. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import pathPosix from 'node:path/posix'
import type { LogEntry } from '../../db/run-logs.js'
import type { ExecutionHost } from '../../hosts/execution-host.js'
import { harnessJobName, harnessModel } from '../../shared/ids.js'
import { testCountsFromCtrf } from '../../logs/ctrf.js'
import type { HarnessDriver } from '../driver.js'
import { attemptLayout, harborTrialRequest, PHASE_EVENTS_FILE } from './command.js'
import { phaseOfEventLine } from './phases.js'
import {
  outcomeFromTrialResult,
  outcomeWithoutTrialResult,
  parseTrialResultJson,
  UnreadableResultError,
} from './result.js'
import { errorOutcome } from '../../shared/outcome.js'
import type { LogSource } from '../../logs/log-tailer.js'

/**
 * What the follower lists of a trial's `agent/` directory (which the task's container writes into),
 * and how many of its text logs it follows at most: a flood of files there must not stall the
 * worker's follower, which lists them again every few seconds. Everything is in the artifacts.
 */
export const AGENT_DIR_LISTED = 1000
export const AGENT_LOGS_FOLLOWED = 20
/** Entries of the Harbor job directory listed (it holds one trial, and a few files of Harbor's). */
const JOB_DIR_LISTED = 100

/** Each attempt is a trial in the host's warm runner (harness-plugins/harbor_trial_runner). */
export function harborDriver(): HarnessDriver {
  return {
    paths(ids, _job, _task, attemptDir) {
      const layout = attemptLayout(attemptDir, harnessJobName(ids.jobId, ids.runNumber, ids.attempt))
      return { root: layout.root, task: layout.task, proc: layout.proc, output: layout.jobs, runDir: layout.jobDir }
    },

    launch(job, paths, host) {
      const attempt = harborTrialRequest({
        procDir: host.absolute(paths.proc),
        taskDir: host.absolute(paths.task),
        jobsDir: host.absolute(paths.output),
        jobName: pathPosix.basename(paths.runDir),
        agent: job.agent,
        model: harnessModel(job.model),
        environment: job.environment,
        timeoutMultiplier: job.timeout_multiplier,
      })
      return { kind: 'trial', attempt }
    },

    /**
     * Harbor's stderr, its job log (which holds every line of the trial's trial.log as well, so that
     * is not followed twice), the phase events of our job plugin, and per trial the agent's text logs
     * (e.g. the oracle's `oracle.txt`), its trajectory, and the verifier's test output: these grow
     * live when the environment bind-mounts them. At most AGENT_LOGS_FOLLOWED of the agent's logs,
     * and a notice in the run's log if there are more.
     */
    async logSources(host: ExecutionHost, paths) {
      const jobDir = paths.runDir
      const sources: LogSource[] = [
        { key: 'events', path: pathPosix.join(jobDir, PHASE_EVENTS_FILE), stream: 'phase' },
        { key: 'proc/stderr', path: pathPosix.join(paths.proc, 'stderr'), stream: 'stderr' },
        { key: 'job.log', path: pathPosix.join(jobDir, 'job.log'), stream: 'harbor' },
      ]
      for (const entry of await host.list(jobDir, JOB_DIR_LISTED)) {
        if (!entry.includes('__')) continue
        const trial = pathPosix.join(jobDir, entry)
        const listed = await host.list(pathPosix.join(trial, 'agent'), AGENT_DIR_LISTED)
        const logs = listed.filter((file) => file.endsWith('.txt'))
        for (const file of logs.slice(0, AGENT_LOGS_FOLLOWED))
          sources.push({ key: `${entry}/agent/${file}`, path: pathPosix.join(trial, 'agent', file), stream: 'agent' })
        if (logs.length > AGENT_LOGS_FOLLOWED || listed.length >= AGENT_DIR_LISTED) {
          sources.push({
            key: `${entry}/agent/too-many`,
            path: pathPosix.join(trial, 'agent'),
            stream: 'runner',
            kind: 'notice',
            line: `${entry}/agent holds too many files to follow: only the first ${AGENT_LOGS_FOLLOWED} of its text logs are (the rest are in the run's artifacts)`,
          })
        }
        sources.push({
          key: `${entry}/agent/trajectory.json`,
          path: pathPosix.join(trial, 'agent', 'trajectory.json'),
          stream: 'trajectory',
          kind: 'trajectory',
        })
        sources.push({
          key: `${entry}/verifier/test-stdout.txt`,
          path: pathPosix.join(trial, 'verifier', 'test-stdout.txt'),
          stream: 'verifier',
        })
      }
      sources.push({ key: 'proc/stdout', path: pathPosix.join(paths.proc, 'stdout'), stream: 'stdout' })
      return sources
    },

    /** Our phase recorder's events say it. */
    phaseOf(entry: LogEntry) {
      return entry.stream === 'phase' ? phaseOfEventLine(entry.line) : null
    },

    async readOutcome(localOutput, paths, exit) {
      const trial = await findTrial(path.join(localOutput, pathPosix.relative(paths.output, paths.runDir)))
      if (!trial) return { outcome: outcomeWithoutTrialResult(exit.exitCode, exit.stderr, exit.stdout), result: null }
      try {
        const parsed = parseTrialResultJson(trial.result)
        const ctrf = await fs.readFile(path.join(trial.dir, 'verifier', 'ctrf.json'), 'utf8').catch(() => null)
        return {
          outcome: outcomeFromTrialResult(parsed, ctrf === null ? null : testCountsFromCtrf(ctrf)),
          result: JSON.parse(trial.result) as object,
        }
      } catch (err) {
        if (err instanceof UnreadableResultError) return { outcome: errorOutcome('harness', err.message), result: null }
        throw err
      }
    },
  }
}

/** The single trial of a Harbor job directory that has a `result.json`: its directory and that text. */
async function findTrial(jobDir: string): Promise<{ dir: string; result: string } | null> {
  const entries = await fs.readdir(jobDir, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (!entry.isDirectory()) continue
    const dir = path.join(jobDir, entry.name)
    const result = await fs.readFile(path.join(dir, 'result.json'), 'utf8').catch(() => null)
    if (result !== null) return { dir, result }
  }
  return null
}
