/**
 * The warm trial runners of a test service's local host, as a test sees them: their state (asked
 * over their control sockets, as a worker asks) and the processes they started (their trials'
 * environments). Also the load tests' stand-in agent.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { PROJECT_ROOT } from '../../src/paths.js'
import { LocalHost } from '../../src/hosts/local-host.js'
import { runnerState, type RunnerState } from '../../src/runners/runner-client.js'

/** A real Harbor agent that calls no model: sleeps D s writing R lines a second (model `load/dD-rR`). */
export const LOAD_AGENT = 'harbor_load_agent:SleepingAgent'
export const LOAD_AGENT_DIR = path.join(PROJECT_ROOT, 'test', 'load')

export interface RunnerSeen {
  id: string
  state: RunnerState
  /** Processes whose parent is the runner (its trials' environments, e.g. sandbox holders). */
  children: number[]
}

/** The runners of a local host's work dir that answer. */
export async function runnersOf(workDir: string): Promise<RunnerSeen[]> {
  const host = new LocalHost('inspect', workDir)
  const seen: RunnerSeen[] = []
  for (const id of await readdir(path.join(workDir, '.runners')).catch(() => [])) {
    const socket = (await readFile(path.join(workDir, '.runners', id, 'socket'), 'utf8').catch(() => '')).trim()
    if (!socket) continue
    const state = await runnerState(host, socket).catch(() => null)
    if (state) seen.push({ id, state, children: await childrenOf(state.pid) })
  }
  return seen
}

async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [])
  const children: number[] = []
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')
    children.push(...text.split(/\s+/).filter(Boolean).map(Number))
  }
  return children
}
