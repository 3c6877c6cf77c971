/**
 * The `harbor` harness: each attempt a Harbor trial in one of the host's warm runners
 * (harness-plugins/harbor_trial_runner). Everything the service knows of Harbor is in this folder:
 * the trial request and environment (command.ts), the runners (runner.ts), the driver (driver.ts),
 * the phases (phases.ts), the result parser (result.ts, with its exception table in
 * src/outcomes/harbor.ts), the task preparation (task.ts) and what it offers (catalog.py).
 */
import { fileURLToPath } from 'node:url'
import type { HarnessDefinition } from '../harness.js'
import { harnessEnvironment } from './command.js'
import { harborDriver } from './driver.js'
import { harborRunnerSpec } from './runner.js'
import { prepareHarborTask } from './task.js'

export const harbor: HarnessDefinition = {
  label: 'harbor',
  defaultAgent: 'terminus-2',
  agentsWithoutModel: ['oracle', 'nop'],
  choosesEnvironment: true,
  importPaths: true,
  cli: {
    command: 'harbor',
    variable: 'HARBOR_BIN',
    hostField: 'harbor_bin',
    versionArgv: (bin) => [bin, '--version'],
  },
  catalogScript: fileURLToPath(new URL('./catalog.py', import.meta.url)),
  prepareTask: prepareHarborTask,
  environment: harnessEnvironment,
  driver: () => harborDriver(),
  runners: harborRunnerSpec,
}
