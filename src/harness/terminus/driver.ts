/** The `terminus` harness (Terminal-Bench 1's `tb run`) for the activities; see driver.ts. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import pathPosix from 'node:path/posix'
import type { LogEntry } from '../../db/run-logs.js'
import { harnessJobName, harnessModel } from '../../shared/ids.js'
import type { HarnessDriver } from '../driver.js'
import type { LogSource } from '../../logs/log-tailer.js'
import { tbAttemptLayout, tbRunArgv, tbTaskId, tbTrialName } from './command.js'
import {
  outcomeFromTbResults,
  outcomeWithoutTbResults,
  parseTbResultsJson,
  UnreadableTbResultsError,
} from './result.js'
import { errorOutcome } from '../../shared/outcome.js'

/** Agents of Terminal-Bench that call no model. */
export const MODELLESS_AGENTS: ReadonlySet<string> = new Set(['oracle', 'nop'])

export function terminusDriver(options: { bin: string; env: Record<string, string> }): HarnessDriver {
  return {
    paths(ids, _job, task, attemptDir) {
      // tb's ids end up in Docker names: lowercase, and distinct for tasks of different content.
      const layout = tbAttemptLayout(
        attemptDir,
        tbTaskId(task.name, task.sha256),
        harnessJobName(ids.jobId, ids.runNumber, ids.attempt),
      )
      return { root: layout.root, task: layout.task, proc: layout.proc, output: layout.output, runDir: layout.runDir }
    },

    launch(job, paths, host) {
      const argv = tbRunArgv({
        tbBin: options.bin,
        datasetPath: host.absolute(pathPosix.dirname(paths.task)),
        taskId: pathPosix.basename(paths.task),
        agent: job.agent,
        model: MODELLESS_AGENTS.has(job.agent) ? null : harnessModel(job.model),
        outputPath: host.absolute(paths.output),
        runId: pathPosix.basename(paths.runDir),
        timeoutMultiplier: job.timeout_multiplier,
      })
      return { kind: 'process', argv, env: options.env }
    },

    /** tb's stderr and its run log, and the trial's agent and test sessions as they grow. */
    async logSources(_host, paths) {
      const taskId = pathPosix.basename(paths.task)
      const trialDir = pathPosix.join(paths.runDir, taskId, tbTrialName(taskId, pathPosix.basename(paths.runDir)))
      const sources: LogSource[] = [
        { key: 'proc/stderr', path: pathPosix.join(paths.proc, 'stderr'), stream: 'stderr' },
        { key: 'run.log', path: pathPosix.join(paths.runDir, 'run.log'), stream: 'tb' },
        { key: 'sessions/agent.log', path: pathPosix.join(trialDir, 'sessions', 'agent.log'), stream: 'agent' },
        { key: 'sessions/tests.log', path: pathPosix.join(trialDir, 'sessions', 'tests.log'), stream: 'verifier' },
        { key: 'proc/stdout', path: pathPosix.join(paths.proc, 'stdout'), stream: 'stdout' },
      ]
      return sources
    },

    /** tb reports no phases; the session that is writing tells which one is under way. */
    phaseOf(entry: LogEntry) {
      return entry.stream === 'agent' || entry.stream === 'verifier' ? entry.stream : null
    },

    async readOutcome(localOutput, paths, exit) {
      const runDir = path.join(localOutput, pathPosix.relative(paths.output, paths.runDir))
      const text = await fs.readFile(path.join(runDir, 'results.json'), 'utf8').catch(() => null)
      if (text === null)
        return { outcome: outcomeWithoutTbResults(exit.exitCode, exit.stderr, exit.stdout), result: null }
      const log = await fs.readFile(path.join(runDir, 'run.log'), 'utf8').catch(() => exit.stderr)
      try {
        return { outcome: outcomeFromTbResults(parseTbResultsJson(text), log), result: JSON.parse(text) as object }
      } catch (err) {
        if (err instanceof UnreadableTbResultsError)
          return { outcome: errorOutcome('harness', err.message), result: null }
        throw err
      }
    },
  }
}
