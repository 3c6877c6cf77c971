/**
 * The workflows as the workflow tests run them: the bundle of src/workflows/index.ts (the worker's
 * own), its durations run faster by the interceptors of fast-time.ts. One place for it, because a
 * recorded history replays only under the interceptors it was recorded with: the workflow tests'
 * environment (workflow-env.ts), the replay of recorded histories (test/workflows/replay.test.ts)
 * and the script that records them (scripts/record-workflow-histories.ts) all bundle through here.
 */
import { fileURLToPath } from 'node:url'
import { bundleWorkflowCode, type Logger, type WorkflowBundle } from '@temporalio/worker'

const WORKFLOWS = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url))
const FAST_TIME = fileURLToPath(new URL('./fast-time.ts', import.meta.url))

export function bundleTestWorkflows(logger?: Logger): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS, workflowInterceptorModules: [FAST_TIME], logger })
}
