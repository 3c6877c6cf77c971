import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { extractArchive } from '../../../src/tasks/archive.js'
import { TaskArchiveError } from '../../../src/tasks/errors.js'
import type { TaskArchiveErrorCode } from '../../../src/tasks/errors.js'
import { detectTask, sanitiseTaskName } from '../../../src/tasks/task-format.js'
import type { DetectTaskOptions } from '../../../src/tasks/task-format.js'
import { buildZip, harborTask, makeTempDir, removeTempDirs, terminalBenchTask, writeTree, writeZip } from './helpers.js'
import type { ZipSpec } from './helpers.js'

afterEach(removeTempDirs)

/** Writes `spec` into a directory named `dirName` and returns its path. */
async function taskDir(spec: ZipSpec, dirName = 'my-task'): Promise<string> {
  const root = path.join(await makeTempDir(), dirName)
  await fs.mkdir(root)
  await writeTree(root, spec)
  return root
}

async function expectRejected(root: string, code: TaskArchiveErrorCode, options?: DetectTaskOptions) {
  const error = await detectTask(root, options).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(TaskArchiveError)
  expect((error as TaskArchiveError).code).toBe(code)
  return error as TaskArchiveError
}

function without(spec: ZipSpec, ...names: string[]): ZipSpec {
  return Object.fromEntries(Object.entries(spec).filter(([name]) => !names.includes(name)))
}

describe('detectTask: Harbor', () => {
  it('detects a Harbor task extracted from a single-folder zip', async () => {
    const zipPath = await writeZip(await buildZip(harborTask('hello/')))
    const extracted = await extractArchive(zipPath, path.join(await makeTempDir(), 'x'), {
      maxEntries: 100,
      maxUncompressedBytes: 1e6,
    })
    const task = await detectTask(extracted.root)
    expect(task).toEqual({
      format: 'harbor',
      name: 'test/hello-world',
      files: {
        config: 'task.toml',
        instruction: 'instruction.md',
        environment: 'environment/Dockerfile',
        tests: 'tests/test.sh',
        solution: 'solution/solve.sh',
      },
    })
  })

  it('falls back to fallbackName (without .zip), then to the directory name', async () => {
    const root = await taskDir(harborTask('', 'version = "1.0"\n'), 'dir-name')
    expect((await detectTask(root, { fallbackName: 'upload.zip' })).name).toBe('upload')
    expect((await detectTask(root)).name).toBe('dir-name')
  })

  it('reads the name only from the [task] table', async () => {
    const toml = '[metadata]\nname = "not-this"\n\n[task]\n# comment\nname = \'literal-name\' # trailing\n'
    const root = await taskDir(harborTask('', toml))
    expect((await detectTask(root)).name).toBe('literal-name')
  })

  it('accepts a dotted key and ignores look-alikes inside multi-line strings and arrays', async () => {
    const toml = [
      'description = """',
      '[task]',
      'name = "from-string"',
      '"""',
      'tags = [',
      '  "[task]",',
      ']',
      'task.name = "dotted"',
    ].join('\n')
    const root = await taskDir(harborTask('', toml))
    expect((await detectTask(root)).name).toBe('dotted')
  })

  it("keeps Harbor's org/name form", async () => {
    const root = await taskDir(harborTask('', '[task]\nname = "acme/hello-world"\n'))
    expect((await detectTask(root)).name).toBe('acme/hello-world')
  })

  it('sanitises a declared name', async () => {
    const root = await taskDir(harborTask('', '[task]\nname = "Café au lait / v2!"\n'))
    expect((await detectTask(root)).name).toBe('Cafe-au-lait-v2')
  })

  it('accepts docker-compose.yml as the environment', async () => {
    const spec = { ...without(harborTask(), 'environment/Dockerfile'), 'environment/docker-compose.yml': 'x' }
    const task = await detectTask(await taskDir(spec))
    expect(task.files.environment).toBe('environment/docker-compose.yml')
  })

  it('needs no environment/ when task.toml sets [environment] docker_image', async () => {
    const toml = '[task]\nname = "img"\n\n[environment]\ndocker_image = "ghcr.io/acme/env:1"\n'
    const spec = without(harborTask('', toml), 'environment/Dockerfile', 'solution/solve.sh')
    const task = await detectTask(await taskDir(spec))
    expect(task.files.environment).toBeNull()
    expect(task.files.solution).toBeNull()
  })

  it('does not take docker_image from another table', async () => {
    const toml = '[agent]\ndocker_image = "x"\n'
    const root = await taskDir(without(harborTask('', toml), 'environment/Dockerfile'))
    const error = await expectRejected(root, 'missing_task_file')
    expect(error.message).toContain('environment/Dockerfile')
  })

  it.each([
    ['instruction.md', 'Harbor task is missing instruction.md'],
    ['tests/test.sh', 'Harbor task is missing tests/test.sh'],
    ['environment/Dockerfile', 'Harbor task is missing environment/Dockerfile'],
  ])('rejects a task without %s', async (file, message) => {
    const error = await expectRejected(await taskDir(without(harborTask(), file)), 'missing_task_file')
    expect(error.message).toContain(message)
  })

  it('does not count a directory as a required file', async () => {
    const root = await taskDir(without(harborTask(), 'instruction.md'))
    await fs.mkdir(path.join(root, 'instruction.md'))
    await expectRejected(root, 'missing_task_file')
  })

  it('rejects a task.toml that is not UTF-8', async () => {
    const notUtf8 = Buffer.from([0x6e, 0x3d, 0xff, 0xfe, 0x0a])
    const root = await taskDir({ ...harborTask(), 'task.toml': { data: notUtf8 } })
    await expectRejected(root, 'invalid_task_file')
  })

  it('rejects a binary task.toml', async () => {
    const root = await taskDir({ ...harborTask(), 'task.toml': { data: Buffer.from('a = 1\n\u0000\u0001') } })
    await expectRejected(root, 'invalid_task_file')
  })

  it('prefers Harbor when both task.toml and task.yaml exist', async () => {
    const root = await taskDir({ ...harborTask(), 'task.yaml': 'instruction: x\n' })
    expect((await detectTask(root)).format).toBe('harbor')
  })
})

describe('detectTask: Terminal-Bench', () => {
  it('detects a Terminal-Bench task', async () => {
    const task = await detectTask(await taskDir(terminalBenchTask(), 'tb-task'))
    expect(task).toEqual({
      format: 'terminal-bench',
      name: 'tb-task',
      files: {
        config: 'task.yaml',
        instruction: null,
        environment: 'docker-compose.yaml',
        tests: 'run-tests.sh',
        solution: 'solution.sh',
      },
    })
  })

  it('uses fallbackName before the directory name', async () => {
    const task = await detectTask(await taskDir(terminalBenchTask()), { fallbackName: 'From Upload.zip' })
    expect(task.name).toBe('From-Upload')
  })

  it('accepts a Dockerfile alone and solution.yaml', async () => {
    const spec = {
      ...without(terminalBenchTask(), 'docker-compose.yaml', 'solution.sh'),
      'solution.yaml': '- command: echo\n',
    }
    const task = await detectTask(await taskDir(spec))
    expect(task.files.environment).toBe('Dockerfile')
    expect(task.files.solution).toBe('solution.yaml')
  })

  it('rejects a task without run-tests.sh', async () => {
    const root = await taskDir(without(terminalBenchTask(), 'run-tests.sh'))
    const error = await expectRejected(root, 'missing_task_file')
    expect(error.message).toBe('Terminal-Bench task is missing run-tests.sh')
  })

  it('rejects a task without Dockerfile or compose file', async () => {
    const spec = without(terminalBenchTask(), 'Dockerfile', 'docker-compose.yaml')
    const error = await expectRejected(await taskDir(spec), 'missing_task_file')
    expect(error.message).toContain('Dockerfile')
  })
})

describe('detectTask: unknown format', () => {
  it('rejects a directory with neither task.toml nor task.yaml', async () => {
    const error = await expectRejected(await taskDir({ 'README.md': 'hi' }), 'unknown_task_format')
    expect(error.message).toContain('neither task.toml (Harbor) nor task.yaml (Terminal-Bench)')
  })

  it('rejects task.toml nested below the root', async () => {
    await expectRejected(await taskDir(harborTask('a/b/')), 'unknown_task_format')
  })
})

describe('sanitiseTaskName', () => {
  it.each([
    ['hello-world', 'hello-world'],
    ['v1.2_final', 'v1.2_final'],
    ['My Task!', 'My-Task'],
    ['  spaced  out  ', 'spaced-out'],
    ['.hidden', 'hidden'],
    ['-rf', 'rf'],
    ['a/../b', 'a-..-b'],
    ['naïve', 'naive'],
    ['x'.repeat(80), 'x'.repeat(64)],
  ])('%j -> %j', (raw, expected) => {
    expect(sanitiseTaskName(raw)).toBe(expected)
  })

  it.each(['', '..', '.', '日本語', '---'])('%j has no safe name', (raw) => {
    expect(sanitiseTaskName(raw)).toBeNull()
  })

  it('falls back to "task" when no candidate gives a safe name', async () => {
    const root = await taskDir(harborTask('', '[task]\nname = "..."\n'), '日本')
    expect((await detectTask(root, { fallbackName: '???' })).name).toBe('task')
  })
})
