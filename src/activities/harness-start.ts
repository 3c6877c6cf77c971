/**
 * Starting and stopping an attempt's harness on its host, however it runs there: as a process of
 * its own under the supervisor (`tb run`), or as a trial in one of the host's warm runners
 * (Harbor). Either way it leaves the same record in its proc dir, which is how it is probed.
 */
import pathPosix from 'node:path/posix'
import type { AttemptPaths, HarnessLaunch } from '../harness/driver.js'
import type { ExecutionHost } from '../hosts/execution-host.js'
import type { RunnerPool } from '../runners/runner-pool.js'

/** Starts it; throws AlreadyStartedError (from the host or the runner) if it was started before. */
export async function startHarness(
  host: ExecutionHost,
  runners: RunnerPool | null,
  paths: AttemptPaths,
  launch: HarnessLaunch,
  secretEnv: Record<string, string>,
): Promise<void> {
  if (launch.kind === 'process') {
    await host.startDetached(paths.proc, launch.argv, { cwd: paths.root, env: launch.env, secretEnv })
    return
  }
  if (!runners) throw new Error(`host ${host.id} has no trial runner`)
  await runners.startAttempt(launch.attempt, secretEnv)
}

/**
 * `term`: asks it to stop and clean up (SIGTERM to a process; a cancel to a runner's trial, after
 * which Harbor removes its environment). `kill`: ends it at once (SIGKILL to its process group; a
 * runner gives up on the trial and records it killed).
 */
export async function stopHarness(
  host: ExecutionHost,
  runners: RunnerPool | null,
  procDir: string,
  how: 'term' | 'kill',
): Promise<void> {
  const inRunner = (await host.fileSize(pathPosix.join(procDir, 'runner'))) !== null
  if (inRunner && runners) return runners.stopAttempt(procDir, how === 'term' ? 'cancel' : 'kill')
  await host.signal(procDir, how === 'term' ? 'SIGTERM' : 'SIGKILL', { group: how === 'kill' })
}

/** For the run's log: what is being started. */
export function describeLaunch(launch: HarnessLaunch): string {
  if (launch.kind === 'process') return launch.argv.slice(1).join(' ')
  const { agent, model, environment, timeout_multiplier } = launch.attempt
  return `a Harbor trial in the host's warm runner: agent ${agent}, model ${model ?? '-'}, environment ${environment}, timeout multiplier ${timeout_multiplier}`
}
