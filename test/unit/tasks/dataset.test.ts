import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { extractArchive } from '../../../src/tasks/archive.js'
import { detectUpload, type DetectUploadOptions } from '../../../src/tasks/dataset.js'
import { httpStatusFor, TaskArchiveError } from '../../../src/tasks/errors.js'
import { miniDataset } from '../../helpers/task-zips.js'
import { buildZip, harborTask, makeTempDir, removeTempDirs, terminalBenchTask, writeTree, writeZip } from './helpers.js'
import type { ZipSpec } from './helpers.js'

afterEach(removeTempDirs)

const OPTIONS: DetectUploadOptions = { fileName: 'my-set.zip', maxTasks: 10, composeAllow: [] }

/** A Harbor task that declares no name: it is named after its folder. */
function unnamedHarbor(prefix: string): ZipSpec {
  return harborTask(prefix, 'version = "1.0"\n')
}

function namedHarbor(prefix: string, name: string): ZipSpec {
  return harborTask(prefix, `[task]\nname = "${name}"\n`)
}

async function extract(zip: Buffer) {
  const zipPath = await writeZip(zip)
  return extractArchive(zipPath, path.join(await makeTempDir(), 'extract'), {
    maxEntries: 1000,
    maxUncompressedBytes: 1e7,
  })
}

async function upload(spec: ZipSpec, options: Partial<DetectUploadOptions> = {}) {
  return detectUpload(await extract(await buildZip(spec)), { ...OPTIONS, ...options })
}

async function rejected(spec: ZipSpec, options: Partial<DetectUploadOptions> = {}): Promise<TaskArchiveError> {
  const error = await upload(spec, options).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(TaskArchiveError)
  return error as TaskArchiveError
}

/** What a result says of its tasks, without the temp paths. */
function summary(result: Awaited<ReturnType<typeof detectUpload>>) {
  return {
    kind: result.kind,
    name: result.name,
    tasks: result.tasks.map((t) => ({ folder: t.folder, name: t.detected.name, format: t.detected.format })),
  }
}

describe('detectUpload: one task, as before', () => {
  it('reads a task at the archive root, named by its task.toml, else after the zip file', async () => {
    const archive = await extract(await buildZip(harborTask()))
    const named = await detectUpload(archive, OPTIONS)
    expect(summary(named)).toEqual({
      kind: 'task',
      name: 'test/hello-world',
      tasks: [{ folder: '', name: 'test/hello-world', format: 'harbor' }],
    })
    expect(named.tasks[0]?.root).toBe(archive.root)
    expect(named.tasks[0]?.detected.files.tests).toBe('tests/test.sh')
    expect((await upload(unnamedHarbor(''))).name).toBe('my-set')
  })

  it('reads a task inside the single top-level folder, named after the folder', async () => {
    const archive = await extract(await buildZip(terminalBenchTask('hello/')))
    const result = await detectUpload(archive, OPTIONS)
    expect(summary(result)).toEqual({
      kind: 'task',
      name: 'hello',
      tasks: [{ folder: 'hello', name: 'hello', format: 'terminal-bench' }],
    })
    expect(result.tasks[0]?.root).toBe(archive.root)
  })

  it('rejects a broken task with its own error, naming no task folder', async () => {
    const spec = unnamedHarbor('hello/')
    delete spec['hello/tests/test.sh']
    const error = await rejected(spec)
    expect(error.code).toBe('missing_task_file')
    expect(error.message).toBe('Harbor task is missing tests/test.sh')
    expect(error.task).toBeNull()
  })

  it("checks the task's compose files", async () => {
    const spec = {
      ...terminalBenchTask('hello/'),
      'hello/docker-compose.yaml': 'services:\n  client:\n    build: .\n    privileged: true\n',
    }
    const error = await rejected(spec)
    expect(error.code).toBe('task_compose_forbidden')
    expect(error.task).toBeNull()
    expect((await upload(spec, { composeAllow: ['privileged'] })).kind).toBe('task')
  })
})

describe('detectUpload: a dataset', () => {
  it('reads task folders at the archive root, named after the zip file', async () => {
    const result = await upload({ ...unnamedHarbor('b-task/'), ...unnamedHarbor('a-task/') })
    expect(summary(result)).toEqual({
      kind: 'dataset',
      name: 'my-set',
      tasks: [
        { folder: 'a-task', name: 'a-task', format: 'harbor' },
        { folder: 'b-task', name: 'b-task', format: 'harbor' },
      ],
    })
  })

  it('reads task folders inside a single top-level folder, which names the dataset', async () => {
    const archive = await extract(await buildZip({ ...unnamedHarbor('suite/one/'), ...unnamedHarbor('suite/two/') }))
    const result = await detectUpload(archive, OPTIONS)
    expect(summary(result)).toMatchObject({ kind: 'dataset', name: 'suite' })
    expect(result.tasks.map((t) => t.root)).toEqual([path.join(archive.root, 'one'), path.join(archive.root, 'two')])
  })

  it('takes Harbor and Terminal-Bench tasks side by side, each named as its format says', async () => {
    const result = await upload({
      ...namedHarbor('suite/h/', 'org/harbor-one'),
      ...terminalBenchTask('suite/tb/'),
    })
    expect(summary(result).tasks).toEqual([
      { folder: 'h', name: 'org/harbor-one', format: 'harbor' },
      { folder: 'tb', name: 'tb', format: 'terminal-bench' },
    ])
  })

  it('reads the mini fixture dataset', async () => {
    const result = await detectUpload(await extract(await miniDataset()), OPTIONS)
    expect(summary(result)).toEqual({
      kind: 'dataset',
      name: 'mini',
      tasks: [
        { folder: 'hello-fail', name: 'hello-fail', format: 'harbor' },
        { folder: 'hello-pass', name: 'hello-pass', format: 'harbor' },
        { folder: 'tb-hello', name: 'tb-hello', format: 'terminal-bench' },
      ],
    })
  })

  it('names the task a rejection is about, keeping its code', async () => {
    const spec = { ...unnamedHarbor('suite/good/'), ...unnamedHarbor('suite/bad/') }
    delete spec['suite/bad/instruction.md']
    const error = await rejected(spec)
    expect(error.code).toBe('missing_task_file')
    expect(error.message).toBe('task "bad": Harbor task is missing instruction.md')
    expect(error.task).toBe('bad')
    expect((error.cause as TaskArchiveError).message).toBe('Harbor task is missing instruction.md')
  })

  it('names the task whose compose file the sandbox policy refuses', async () => {
    const error = await rejected({
      ...unnamedHarbor('suite/good/'),
      ...terminalBenchTask('suite/escape/'),
      'suite/escape/docker-compose.yaml': 'services:\n  client:\n    build: .\n    privileged: true\n',
    })
    expect(error.code).toBe('task_compose_forbidden')
    expect(error.message).toMatch(/^task "escape": .*docker-compose\.yaml/)
    expect(error.task).toBe('escape')
  })

  it('refuses a folder that is not a task, naming it', async () => {
    const error = await rejected({ ...unnamedHarbor('suite/a/'), 'suite/notes/todo.md': 'later\n' })
    expect(error.code).toBe('unknown_task_format')
    expect(error.message).toMatch(/^task "notes": the folder has neither task\.toml \(Harbor\) nor task\.yaml/)
    expect(error.task).toBe('notes')
  })

  it('refuses two tasks of one name, naming both folders', async () => {
    const error = await rejected({ ...namedHarbor('suite/a/', 'org/same'), ...namedHarbor('suite/b/', 'org/same') })
    expect(error.code).toBe('duplicate_task_name')
    expect(httpStatusFor(error.code)).toBe(422)
    expect(error.message).toMatch(/^task "b": its name "org\/same" is already task "a"'s/)
    expect(error.task).toBe('b')
  })

  it('refuses more tasks than the limit, and takes as many', async () => {
    const spec = { ...unnamedHarbor('a/'), ...unnamedHarbor('b/'), ...terminalBenchTask('c/') }
    const error = await rejected(spec, { maxTasks: 2 })
    expect(error.code).toBe('too_many_tasks')
    expect(httpStatusFor(error.code)).toBe(413)
    expect(error.message).toBe('The dataset has 3 tasks; at most 2 are allowed')
    expect((await upload(spec, { maxTasks: 3 })).tasks).toHaveLength(3)
  })

  it('refuses an archive that holds neither a task nor a dataset, telling both layouts', async () => {
    const spec = harborTask()
    delete spec['task.toml']
    const error = await rejected({ ...spec, 'README.md': 'hi\n' })
    expect(error.code).toBe('unknown_task_format')
    expect(error.message).toMatch(/task\.toml \(Harbor\) or task\.yaml \(Terminal-Bench\)/)
    expect(error.message).toMatch(/a dataset is a folder .* whose subfolders are each such a task/)
    expect(error.task).toBeNull()
  })

  it('looks no deeper than one level below the dataset folder', async () => {
    const nested = await rejected({ ...unnamedHarbor('suite/group/a/'), ...unnamedHarbor('suite/group/b/') })
    expect(nested.code).toBe('unknown_task_format')
    expect(nested.task).toBeNull()
    const mixed = await rejected({ ...unnamedHarbor('suite/a/'), ...unnamedHarbor('suite/group/b/') })
    expect(mixed.code).toBe('unknown_task_format')
    expect(mixed.task).toBe('group')
  })
})

describe('detectUpload: hidden entries', () => {
  it('ignores hidden folders and files, __MACOSX and plain files beside the task folders', async () => {
    const root = path.join(await makeTempDir(), 'extract')
    await fs.mkdir(root)
    await writeTree(root, {
      ...unnamedHarbor('a/'),
      ...terminalBenchTask('b/'),
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.cache/task.toml': 'not = "a task"\n',
      '__MACOSX/a/._task.toml': 'junk',
      '.gitignore': '*.pyc\n',
      'README.md': '# the set\n',
    })
    const result = await detectUpload({ root, topLevelDir: null }, OPTIONS)
    expect(summary(result)).toMatchObject({ kind: 'dataset', name: 'my-set' })
    expect(result.tasks.map((t) => t.folder)).toEqual(['a', 'b'])
  })

  it('takes the one visible folder beside hidden entries as the top-level folder', async () => {
    const dataset = await upload({
      '.github/workflows/ci.yml': 'on: push\n',
      ...unnamedHarbor('suite/a/'),
      ...terminalBenchTask('suite/b/'),
    })
    expect(summary(dataset)).toMatchObject({ kind: 'dataset', name: 'suite' })
    expect(dataset.tasks.map((t) => t.folder)).toEqual(['a', 'b'])
    const task = await upload({ '.gitignore': '*.pyc\n', ...unnamedHarbor('hello/') })
    expect(summary(task)).toEqual({
      kind: 'task',
      name: 'hello',
      tasks: [{ folder: 'hello', name: 'hello', format: 'harbor' }],
    })
  })
})
