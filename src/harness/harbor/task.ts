/**
 * A task as the `harbor` harness runs it: Harbor tasks as they are, Terminal-Bench 1 tasks converted
 * by `harbor task migrate` (its compose file checked again as Harbor will run it).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { execa } from 'execa'
import { checkTaskComposeFiles } from '../../tasks/compose/files.js'
import { TaskArchiveError } from '../../tasks/errors.js'
import { HarnessUnavailableError, type PreparedTask, type TaskTools, type UploadedTask } from '../harness.js'

export async function prepareHarborTask(task: UploadedTask, tools: TaskTools): Promise<PreparedTask> {
  if (task.format === 'harbor') return { kind: task.format, root: task.root }
  if (!tools.bin) {
    throw new HarnessUnavailableError('this service cannot convert Terminal-Bench tasks: harbor is not installed')
  }
  const migrated = await migrateToHarbor(tools.bin, task.root, path.join(tools.workDir, 'migrated'), tools.env)
  // The conversion writes a compose file of its own from the task's: checked as Harbor will run it.
  await checkTaskComposeFiles(migrated, 'harbor', {
    allow: tools.composeAllow,
    note: 'as harbor task migrate converted it',
  })
  return { kind: 'harbor', root: migrated }
}

/**
 * Converts a Terminal-Bench 1 task to Harbor's format with `harbor task migrate`, into `outParent`;
 * returns the converted task's directory. Harbor exits 0 on some failures, so the result is checked.
 */
export async function migrateToHarbor(
  harborBin: string,
  taskRoot: string,
  outParent: string,
  env: Record<string, string>,
): Promise<string> {
  const result = await execa(harborBin, ['task', 'migrate', '-i', taskRoot, '-o', outParent], {
    reject: false,
    timeout: 120_000,
    extendEnv: false,
    env,
  })
  const migrated = path.join(outParent, path.basename(taskRoot))
  const produced = await Promise.all(
    ['task.toml', 'environment/Dockerfile', 'tests/test.sh'].map((f) =>
      fs.access(path.join(migrated, f)).then(
        () => true,
        () => false,
      ),
    ),
  )
  if (result.exitCode !== 0 || produced.includes(false)) {
    await fs.rm(migrated, { recursive: true, force: true })
    const said = `${result.stdout}\n${result.stderr}`
      .replaceAll(taskRoot, 'the task')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/not foolproof|review migrated/i.test(l))
      .slice(-4)
      .join(' ')
    throw new TaskArchiveError(
      'invalid_task',
      `harbor task migrate could not convert this Terminal-Bench task: ${said || 'it produced no Harbor task'}`,
    )
  }
  return migrated
}
