/**
 * The `terminus` harness: Terminal-Bench 1's `tb run`, one process per attempt under the host's
 * supervisor. Everything the service knows of it is in this folder: the command line and
 * environment (command.ts), the driver and its phases (driver.ts), the result parser (result.ts,
 * with its failure-mode table in src/outcomes/terminus.ts), the task preparation (task.ts) and what
 * it offers (catalog.py).
 */
import pathPosix from 'node:path/posix'
import { fileURLToPath } from 'node:url'
import type { HarnessDefinition } from '../harness.js'
import { tbHarnessEnvironment } from './command.js'
import { MODELLESS_AGENTS, terminusDriver } from './driver.js'
import { prepareTerminusTask } from './task.js'

export const terminus: HarnessDefinition = {
  label: 'terminus (Terminal-Bench)',
  defaultAgent: 'terminus',
  agentsWithoutModel: [...MODELLESS_AGENTS],
  choosesEnvironment: false,
  importPaths: false,
  cli: {
    command: 'tb',
    variable: 'TB_BIN',
    hostField: 'tb_bin',
    // tb has no --version: ask its package, with the Python beside it.
    versionArgv: (bin) => {
      const dir = pathPosix.dirname(bin)
      const python = dir === '.' ? 'python3' : pathPosix.join(dir, 'python')
      return [python, '-c', "from importlib.metadata import version; print(version('terminal-bench'))"]
    },
  },
  catalogScript: fileURLToPath(new URL('./catalog.py', import.meta.url)),
  prepareTask: prepareTerminusTask,
  environment: tbHarnessEnvironment,
  driver: ({ bin, env }) => terminusDriver({ bin, env }),
}
