/**
 * The compose files of a task on disk: found where each harness reads them, each checked with the
 * `.env` beside it, read under limits. The fixture tasks pass.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../../src/paths.js'
import { checkTaskComposeFiles } from '../../../src/tasks/compose/files.js'
import { TaskArchiveError } from '../../../src/tasks/errors.js'
import { detectTask, type TaskFormat } from '../../../src/tasks/task-format.js'
import { harborTask, makeTempDir, removeTempDirs, terminalBenchTask, writeTree, type ZipSpec } from './helpers.js'

afterEach(removeTempDirs)

const PRIVILEGED = 'services:\n  main:\n    image: a\n    privileged: true\n'
const FINE = 'services:\n  main:\n    image: a\n'

async function taskDir(spec: ZipSpec): Promise<string> {
  const root = await makeTempDir()
  await writeTree(root, spec)
  return root
}

async function refusal(spec: ZipSpec, format: TaskFormat, note?: string): Promise<TaskArchiveError> {
  const error = await checkTaskComposeFiles(await taskDir(spec), format, { allow: [], note }).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(TaskArchiveError)
  return error as TaskArchiveError
}

describe('checkTaskComposeFiles', () => {
  it('passes the fixture tasks', async () => {
    const fixtures = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks')
    const names = await fs.readdir(fixtures)
    expect(names).toEqual(expect.arrayContaining(['hello-pass', 'tb-hello']))
    for (const name of names) {
      const root = path.join(fixtures, name)
      const { format } = await detectTask(root)
      await expect(checkTaskComposeFiles(root, format, { allow: [] }), name).resolves.toBeUndefined()
    }
  })

  it.each([
    'environment/docker-compose.yaml',
    'environment/docker-compose.yml',
    'tests/docker-compose.yaml',
    'steps/setup/tests/docker-compose.yaml',
  ])("finds a Harbor task's %s", async (file) => {
    const error = await refusal({ ...harborTask(), [file]: PRIVILEGED }, 'harbor')
    expect(error.code).toBe('task_compose_forbidden')
    expect(error.message).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}: service "main": privileged true`))
  })

  it("finds a Terminal-Bench task's docker-compose.yaml at its root", async () => {
    const error = await refusal({ ...terminalBenchTask(), 'docker-compose.yaml': PRIVILEGED }, 'terminal-bench')
    expect(error.message).toMatch(/^docker-compose\.yaml: service "main": privileged true/)
  })

  it('checks each file as its format runs it, and only where its harness reads one', async () => {
    const tbMounts = 'services:\n  client:\n    volumes: ["${T_BENCH_TASK_LOGS_PATH}:${T_BENCH_CONTAINER_LOGS_PATH}"]\n'
    const tb = { ...terminalBenchTask(), 'docker-compose.yaml': tbMounts, 'elsewhere/docker-compose.yaml': PRIVILEGED }
    await expect(checkTaskComposeFiles(await taskDir(tb), 'terminal-bench', { allow: [] })).resolves.toBeUndefined()
    const harbor = { ...harborTask(), 'environment/docker-compose.yaml': tbMounts }
    expect((await refusal(harbor, 'harbor')).message).toMatch(/TASK_COMPOSE_ALLOW=host_mounts/)
  })

  it('reads the .env beside each compose file', async () => {
    const spec = { ...harborTask(), 'environment/docker-compose.yaml': FINE, 'environment/.env': 'CONTEXT_DIR=/\n' }
    const error = await refusal(spec, 'harbor')
    expect(error.message).toMatch(/^environment\/\.env: setting CONTEXT_DIR/)
    const elsewhere = { ...harborTask(), 'environment/docker-compose.yaml': FINE, 'tests/.env': 'CONTEXT_DIR=/\n' }
    await expect(checkTaskComposeFiles(await taskDir(elsewhere), 'harbor', { allow: [] })).resolves.toBeUndefined()
  })

  it('says what produced the file when told', async () => {
    const spec = { ...harborTask(), 'environment/docker-compose.yaml': PRIVILEGED }
    const error = await refusal(spec, 'harbor', 'as harbor task migrate converted it')
    expect(error.message).toMatch(/^environment\/docker-compose\.yaml \(as harbor task migrate converted it\): service/)
  })

  it('passes what the operator allows', async () => {
    const root = await taskDir({ ...harborTask(), 'environment/docker-compose.yaml': PRIVILEGED })
    await expect(checkTaskComposeFiles(root, 'harbor', { allow: ['privileged'] })).resolves.toBeUndefined()
  })

  it('refuses a compose file that is not UTF-8 text, or over 64 KiB', async () => {
    const binary = await refusal(
      { ...harborTask(), 'environment/docker-compose.yaml': { data: Buffer.from([0xff, 0xfe]) } },
      'harbor',
    )
    expect([binary.code, binary.message]).toEqual([
      'invalid_task_file',
      'environment/docker-compose.yaml is not UTF-8 text',
    ])
    const big = await refusal(
      { ...harborTask(), 'environment/docker-compose.yaml': `# ${'x'.repeat(64 * 1024)}\n` },
      'harbor',
    )
    expect([big.code, big.message]).toEqual([
      'invalid_task_file',
      'environment/docker-compose.yaml is larger than 64 KiB',
    ])
  })

  it('refuses invalid YAML as an invalid task file', async () => {
    const error = await refusal({ ...terminalBenchTask(), 'docker-compose.yaml': 'services: [\n' }, 'terminal-bench')
    expect(error.code).toBe('invalid_task_file')
    expect(error.message).toMatch(/^docker-compose\.yaml is not valid YAML/)
  })
})
