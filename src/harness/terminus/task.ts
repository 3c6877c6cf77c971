/** A task as the `terminus` harness runs it: Terminal-Bench 1 tasks as they are, and nothing else. */
import { TaskArchiveError } from '../../tasks/errors.js'
import type { PreparedTask, UploadedTask } from '../harness.js'

export async function prepareTerminusTask(task: UploadedTask): Promise<PreparedTask> {
  if (task.format !== 'terminal-bench') {
    throw new TaskArchiveError(
      'unsupported_task_format',
      'the terminus harness runs Terminal-Bench 1 tasks (task.yaml, run-tests.sh, docker-compose.yaml); ' +
        'this is a Harbor task (task.toml): upload it with harness=harbor',
    )
  }
  return { kind: task.format, root: task.root }
}
