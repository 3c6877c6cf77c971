/** Docker Compose projects that harnesses leave behind when they are killed outright. */
import pathPosix from 'node:path/posix'
import type { ManagedHost } from './execution-host.js'

/**
 * Harbor names a trial's Docker Compose project after the trial (`<trial>__env`, lowercased, other
 * characters as `-`); a harness killed outright leaves it up. No Docker on the host: nothing to do.
 */
export async function downComposeProjects(host: ManagedHost, attemptDir: string): Promise<void> {
  const jobsDir = pathPosix.join(attemptDir, 'jobs')
  const trials: string[] = []
  for (const job of await host.list(jobsDir)) {
    for (const entry of await host.list(pathPosix.join(jobsDir, job))) if (entry.includes('__')) trials.push(entry)
  }
  if (trials.length === 0 || !(await dockerAnswers(host))) return
  for (const trial of trials) {
    const project = `${trial}__env`.toLowerCase().replace(/[^a-z0-9_-]/g, '-')
    await host.exec(['docker', 'compose', '-p', project, 'down', '--volumes', '--remove-orphans'])
  }
}

/** Whether the host's Docker answered when last asked, at most a minute ago (a worker cleans up hundreds of runs). */
const dockerSeen = new WeakMap<ManagedHost, { answers: boolean; at: number }>()
const DOCKER_ASKED_EVERY_MS = 60_000

async function dockerAnswers(host: ManagedHost): Promise<boolean> {
  const seen = dockerSeen.get(host)
  if (seen && Date.now() - seen.at < DOCKER_ASKED_EVERY_MS) return seen.answers
  const docker = await host.exec(['sh', '-c', 'command -v docker >/dev/null && docker info >/dev/null 2>&1'])
  dockerSeen.set(host, { answers: docker.code === 0, at: Date.now() })
  return docker.code === 0
}
