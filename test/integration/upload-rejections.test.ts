/**
 * Malformed uploads through the real API: each gets a 4xx with its own code and leaves nothing
 * behind (no row, no stored task, no upload temp file, no workflow). One table of cases, one test
 * that walks it: adding a case is one line. Each case walked is recorded for the reliability report.
 */
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { Client, Connection } from '@temporalio/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { upload, type UploadInput } from '../helpers/api-client.js'
import { eventually } from '../helpers/eventually.js'
import { asiUnixExtra, buildRawZip, pkwareUnixExtra, type RawEntry } from '../helpers/raw-zip.js'
import { record, type Threat } from '../helpers/reliability.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { buildZip, harborTask, terminalBenchTask, type ZipSpec } from '../helpers/task-zips.js'

const MiB = 1024 * 1024
const LIMITS = {
  UPLOAD_MAX_BYTES: String(256 * 1024),
  UPLOAD_MAX_ENTRIES: '50',
  // Above the compression ratio check's 1 MiB minimum, so that a ratio bomb can stay under the total.
  UPLOAD_MAX_UNCOMPRESSED_BYTES: String(8 * MiB),
}
const FIELDS = { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '2', openrouter_key: 'sk-or-v1-test-upload-key' }
/** Every field the form knows, each valid: with one more part the form has too many. */
const ALL_FIELDS = {
  ...FIELDS,
  harness: 'harbor',
  environment: 'docker',
  max_parallel: '1',
  timeout_multiplier: '1',
}

function without(spec: ZipSpec, ...names: string[]): ZipSpec {
  return Object.fromEntries(Object.entries(spec).filter(([k]) => !names.includes(k)))
}

/** A form part: a text field, or a file with its name. */
type Part = [name: string, value: string] | [name: string, file: Buffer, filename: string]

/** What a case sends: the usual upload, a form with any parts (repeated, misnamed), or raw bytes. */
type Request =
  UploadInput | { parts: Part[]; headers?: Record<string, string> } | { body: string | Buffer; contentType: string }

interface Case {
  name: string
  input: () => Promise<Request>
  status: number
  code: string
  /** Part of the message, when it must name something (a field of task.toml, an entry). */
  says?: string
}

const valid = async (fields: Record<string, string> = {}): Promise<UploadInput> => ({
  file: await buildZip(harborTask()),
  fields: { ...FIELDS, ...fields },
})

/** The valid task with `entries` added, as a raw zip. */
const withEntries = async (...entries: RawEntry[]): Promise<UploadInput> => ({
  file: buildRawZip([...raw(harborTask()), ...entries]),
  fields: FIELDS,
})

/** A zip file: the valid task, or `spec`. */
const zipOf = async (spec: ZipSpec = harborTask()): Promise<UploadInput> => ({
  file: await buildZip(spec),
  fields: FIELDS,
})

/** The valid task with this task.toml. */
const taskToml = (text: string) => zipOf({ ...harborTask(), 'task.toml': text })

/** A compose file with one service, `name`, made of these YAML lines. */
const composeService = (name: string, ...lines: string[]) =>
  `services:\n  ${name}:\n${lines.map((line) => `    ${line}\n`).join('')}`

/** The valid task with this compose file (by default its environment's), and any other files. */
const withCompose = (text: string, file = 'environment/docker-compose.yaml', extra: ZipSpec = {}) =>
  zipOf({ ...harborTask(), [file]: text, ...extra })

/** The valid Terminal-Bench task with this docker-compose.yaml, for `harness`. */
const tbWithCompose = async (text: string, harness = 'terminus'): Promise<UploadInput> => ({
  file: await buildZip({ ...terminalBenchTask(), 'docker-compose.yaml': text }),
  fields: { ...FIELDS, harness },
})

/** The valid task's zip, changed by `damage`. */
const damaged = async (damage: (zip: Buffer) => Buffer): Promise<UploadInput> => ({
  file: damage(await buildZip(harborTask())),
  fields: FIELDS,
})

/** A form of these parts, the valid task's zip first unless told otherwise. */
const form = async (parts: Part[], withFile = true): Promise<Request> => ({
  parts: [...(withFile ? [['file', await buildZip(harborTask()), 'task.zip'] as Part] : []), ...parts],
})

const fieldParts = (fields: Record<string, string>): Part[] => Object.entries(fields)

/** Sets every byte of the central directory's first record signature to 0xff. */
function flipCentralDirectory(zip: Buffer): Buffer {
  const at = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
  return Buffer.concat([zip.subarray(0, at), Buffer.alloc(4, 0xff), zip.subarray(at + 4)])
}

const CASES: Case[] = [
  {
    name: 'not a zip',
    input: async () => ({ file: Buffer.from('hello, not a zip'), fields: FIELDS }),
    status: 400,
    code: 'not_a_zip',
  },
  {
    name: 'zip-slip path',
    input: async () => ({
      file: buildRawZip([{ name: '../evil.txt', data: 'x' }, ...raw(harborTask())]),
      fields: FIELDS,
    }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'absolute path',
    input: async () => ({
      file: buildRawZip([{ name: '/etc/evil', data: 'x' }, ...raw(harborTask())]),
      fields: FIELDS,
    }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'symlink',
    input: async () => ({
      file: buildRawZip([...raw(harborTask()), { name: 'link', data: '/etc/passwd', mode: 0o120777 }]),
      fields: FIELDS,
    }),
    status: 422,
    code: 'symlink',
  },
  {
    name: 'duplicate entry names',
    input: () => withEntries({ name: 'instruction.md', data: 'again', mode: 0o100644 }),
    status: 422,
    code: 'duplicate_entry',
  },
  {
    name: 'a file and a folder with one name',
    input: () => withEntries({ name: 'tests/test.sh/x', data: 'x', mode: 0o100644 }),
    status: 422,
    code: 'duplicate_entry',
  },
  {
    name: 'hard link (PKWARE unix extra field)',
    input: () => withEntries({ name: 'hard', mode: 0o100644, extraFields: [pkwareUnixExtra('task.toml')] }),
    status: 422,
    code: 'unsupported_entry',
  },
  {
    name: 'symlink (ASi unix extra field)',
    input: () => withEntries({ name: 'soft', mode: 0o100644, extraFields: [asiUnixExtra(0o120777, '/etc')] }),
    status: 422,
    code: 'symlink',
  },
  {
    name: 'named pipe',
    input: () => withEntries({ name: 'fifo', mode: 0o010644 }),
    status: 422,
    code: 'unsupported_entry',
  },
  {
    name: 'block device',
    input: () => withEntries({ name: 'sda', mode: 0o060644 }),
    status: 422,
    code: 'unsupported_entry',
  },
  {
    name: 'compression ratio bomb',
    input: () => zipOf({ ...harborTask(), 'zeros.bin': { data: Buffer.alloc(2 * MiB) } }),
    status: 413,
    code: 'zip_bomb',
    says: 'zeros.bin',
  },
  {
    name: 'overlapping entries bomb',
    input: () =>
      withEntries(
        { name: 'a.bin', data: Buffer.alloc(64 * 1024), deflate: true },
        { name: 'b.bin', data: Buffer.alloc(64 * 1024), deflate: true, sharesDataOf: Object.keys(harborTask()).length },
      ),
    status: 413,
    code: 'zip_bomb',
  },
  {
    name: 'entry that inflates past its declared size',
    input: () => withEntries({ name: 'liar.bin', data: Buffer.alloc(MiB), deflate: true, declaredSize: 100 }),
    status: 400,
    code: 'corrupt_archive',
    says: 'liar.bin',
  },
  {
    name: 'encrypted entry',
    input: () => withEntries({ name: 'secret.txt', data: 'x', encrypted: true }),
    status: 422,
    code: 'encrypted_entry',
  },
  {
    name: 'unsupported compression method',
    input: () => withEntries({ name: 'b.bz2', data: 'x', method: 12 }),
    status: 422,
    code: 'unsupported_entry',
  },
  {
    name: 'truncated archive',
    input: () => damaged((zip) => zip.subarray(0, Math.floor(zip.length / 2))),
    status: 400,
    code: 'corrupt_archive',
  },
  {
    name: 'corrupt central directory',
    input: () => damaged(flipCentralDirectory),
    status: 400,
    code: 'corrupt_archive',
  },
  {
    name: 'bad CRC',
    input: () => withEntries({ name: 'bad.txt', data: 'hello', crc32: 0x1234 }),
    status: 400,
    code: 'corrupt_archive',
    says: 'bad.txt',
  },
  {
    name: 'empty zip',
    input: async () => ({ file: buildRawZip([]), fields: FIELDS }),
    status: 422,
    code: 'empty_archive',
  },
  {
    name: 'zip of folders only',
    input: async () => ({ file: buildRawZip([{ name: 'a/', mode: 0o040755 }]), fields: FIELDS }),
    status: 422,
    code: 'empty_archive',
  },
  {
    name: 'empty file',
    input: async () => ({ file: Buffer.alloc(0), fields: FIELDS }),
    status: 400,
    code: 'empty_file',
  },
  {
    name: 'NUL in an entry name',
    input: () => withEntries({ name: 'a\u0000b', data: 'x' }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'newline in an entry name',
    input: () => withEntries({ name: 'a\nb', data: 'x' }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'bidi control in an entry name',
    input: () => withEntries({ name: 'a\u202eb', data: 'x' }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'backslash in an entry name',
    input: () => withEntries({ name: '..\\evil', data: 'x' }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'Windows drive path',
    input: () => withEntries({ name: 'C:/evil', data: 'x' }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'overlong entry name',
    input: () => withEntries({ name: 'a'.repeat(300), data: 'x' }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'overlong entry path',
    input: () => withEntries({ name: `${'d/'.repeat(600)}x`, data: 'x' }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'task.toml that is not UTF-8',
    input: () => zipOf({ ...harborTask(), 'task.toml': { data: Buffer.from([0x61, 0xff, 0xfe]) } }),
    status: 422,
    code: 'invalid_task_file',
  },
  {
    name: 'task.toml artifact destination that is absolute',
    input: () => taskToml('[[artifacts]]\nsource = "/app/out"\ndestination = "/etc/cron.d/evil"\n'),
    status: 422,
    code: 'invalid_task',
    says: 'artifacts[0].destination',
  },
  {
    name: 'task.toml artifact destination with ".."',
    input: () => taskToml('[[artifacts]]\nsource = "/app/out"\ndestination = "../../evil"\n'),
    status: 422,
    code: 'invalid_task',
    says: 'artifacts[0].destination',
  },
  {
    name: 'task.toml artifact source with ".."',
    input: () => taskToml('artifacts = ["/app/../../../etc"]\n'),
    status: 422,
    code: 'invalid_task',
    says: 'artifacts[0]',
  },
  {
    name: 'task.toml workdir with ".."',
    input: () => taskToml('[environment]\nworkdir = "/app/../../etc"\n'),
    status: 422,
    code: 'invalid_task',
    says: 'environment.workdir',
  },
  {
    name: 'task.toml skills_dir with ".."',
    input: () => taskToml('[environment]\nskills_dir = "../skills"\n'),
    status: 422,
    code: 'invalid_task',
    says: 'environment.skills_dir',
  },
  {
    name: 'task.toml step that climbs out of steps/',
    input: () => taskToml('[[steps]]\nname = "../../escape"\n'),
    status: 422,
    code: 'invalid_task',
    says: 'steps[0].name',
  },
  {
    name: 'compose service that is privileged',
    input: () => withCompose(composeService('main', 'image: ubuntu:24.04', 'privileged: true')),
    status: 422,
    code: 'task_compose_forbidden',
    says: 'environment/docker-compose.yaml: service "main": privileged true is not allowed',
  },
  {
    name: 'compose bind mount of the host root',
    input: () => withCompose(composeService('main', 'volumes: ["/:/host"]')),
    status: 422,
    code: 'task_compose_forbidden',
    says: 'volumes[0] "/:/host"',
  },
  {
    name: 'compose mount of the Docker socket (long syntax)',
    input: () =>
      withCompose(composeService('main', 'volumes: [{type: bind, source: /var/run/docker.sock, target: /s}]')),
    status: 422,
    code: 'task_compose_forbidden',
    says: 'TASK_COMPOSE_ALLOW=docker_socket',
  },
  {
    name: 'compose named volume that binds a host folder',
    input: () =>
      withCompose(
        `${composeService('main', 'volumes: ["root:/host"]')}volumes:\n  root: {driver_opts: {type: none, o: bind, device: /}}\n`,
      ),
    status: 422,
    code: 'task_compose_forbidden',
    says: 'volume "root": driver_opts',
  },
  {
    name: 'compose sidecar on the host network',
    input: () => withCompose(composeService('proxy', 'image: nginx', 'network_mode: host')),
    status: 422,
    code: 'task_compose_forbidden',
    says: 'service "proxy": network_mode "host"',
  },
  {
    name: 'compose privileged service hidden in a YAML merge key',
    input: () => withCompose(`x-base: &base {privileged: true}\n${composeService('main', '<<: *base', 'image: a')}`),
    status: 422,
    code: 'task_compose_forbidden',
    says: 'privileged true',
  },
  {
    name: 'compose of a separate verifier environment with cap_add',
    input: () => withCompose(composeService('main', 'cap_add: [SYS_ADMIN]'), 'tests/docker-compose.yaml'),
    status: 422,
    code: 'task_compose_forbidden',
    says: 'tests/docker-compose.yaml: service "main": cap_add',
  },
  {
    name: 'compose .env that points the log mounts at the host root',
    input: () =>
      withCompose(composeService('main', 'volumes: ["${HOST_AGENT_LOGS_PATH}:${ENV_AGENT_LOGS_PATH}"]'), undefined, {
        'environment/.env': 'HOST_AGENT_LOGS_PATH=/\n',
      }),
    status: 422,
    code: 'task_compose_forbidden',
    says: 'environment/.env: setting HOST_AGENT_LOGS_PATH',
  },
  {
    name: 'compose that is not YAML',
    input: () => withCompose('services: [\n'),
    status: 422,
    code: 'invalid_task_file',
    says: 'environment/docker-compose.yaml is not valid YAML',
  },
  {
    name: 'compose nested thousands of brackets deep',
    input: () => withCompose(`services: ${'['.repeat(20_000)}\n`),
    status: 422,
    code: 'invalid_task_file',
    says: 'nests collections more than 64 deep',
  },
  {
    name: 'compose that is a list',
    input: () => withCompose('- main\n'),
    status: 422,
    code: 'invalid_task_file',
    says: 'is not a Compose file',
  },
  {
    name: 'Terminal-Bench compose sharing the host PID namespace',
    input: () => tbWithCompose(composeService('client', 'build: {dockerfile: Dockerfile}', 'pid: host')),
    status: 422,
    code: 'task_compose_forbidden',
    says: 'docker-compose.yaml: service "client": pid "host"',
  },
  {
    // Refused before `harbor task migrate`, which would copy the context's files into the task.
    name: 'Terminal-Bench compose building from a host folder, for conversion',
    input: () => tbWithCompose(composeService('client', 'build: {context: /etc}'), 'harbor'),
    status: 422,
    code: 'task_compose_forbidden',
    says: 'docker-compose.yaml: service "client": build.context "/etc"',
  },
  {
    name: 'too many entries',
    input: async () => ({ file: await buildZip({ ...harborTask(), ...manyFiles(60) }), fields: FIELDS }),
    status: 413,
    code: 'too_many_entries',
  },
  {
    name: 'archive over the upload limit',
    input: async () => ({ file: randomBytes(300 * 1024), fields: FIELDS }),
    status: 413,
    code: 'upload_too_large',
  },
  {
    name: 'uncompressed size over the limit',
    input: async () => ({
      file: await buildZip({ ...harborTask(), 'big.txt': 'a'.repeat(9 * MiB) }),
      fields: FIELDS,
    }),
    status: 413,
    code: 'too_large_uncompressed',
  },
  {
    name: 'no task.toml',
    input: async () => ({ file: await buildZip(without(harborTask(), 'task.toml')), fields: FIELDS }),
    status: 422,
    code: 'unknown_task_format',
  },
  {
    name: 'no instruction.md',
    input: async () => ({ file: await buildZip(without(harborTask(), 'instruction.md')), fields: FIELDS }),
    status: 422,
    code: 'missing_task_file',
  },
  {
    name: 'no tests',
    input: async () => ({ file: await buildZip(without(harborTask(), 'tests/test.sh')), fields: FIELDS }),
    status: 422,
    code: 'missing_task_file',
  },
  {
    name: "task.toml with an invalid field (Harbor's own model)",
    input: async () => ({
      file: await buildZip({ ...harborTask(), 'task.toml': '[agent]\ntimeout_sec = "soon"\n' }),
      fields: FIELDS,
    }),
    status: 422,
    code: 'invalid_task',
  },
  {
    name: 'task.toml that is not TOML',
    input: async () => ({ file: await buildZip({ ...harborTask(), 'task.toml': '[agent\ntimeout' }), fields: FIELDS }),
    status: 422,
    code: 'invalid_task',
  },
  { name: 'n_runs of 0', input: () => valid({ n_runs: '0' }), status: 400, code: 'invalid_n_runs' },
  { name: 'n_runs of -1', input: () => valid({ n_runs: '-1' }), status: 400, code: 'invalid_n_runs' },
  { name: 'n_runs of "abc"', input: () => valid({ n_runs: 'abc' }), status: 400, code: 'invalid_n_runs' },
  { name: 'n_runs over the limit', input: () => valid({ n_runs: '1001' }), status: 400, code: 'invalid_n_runs' },
  { name: 'unknown harness', input: () => valid({ harness: 'swebench' }), status: 400, code: 'invalid_harness' },
  {
    name: 'no model',
    input: async () => ({
      file: await buildZip(harborTask()),
      fields: without(FIELDS, 'model') as Record<string, string>,
    }),
    status: 400,
    code: 'invalid_model',
  },
  { name: 'model with a space', input: () => valid({ model: 'openai/gpt 4o' }), status: 400, code: 'invalid_model' },
  {
    name: 'no key for a model agent',
    input: async () => ({
      file: await buildZip(harborTask()),
      fields: { model: 'openai/gpt-4o', agent: 'terminus-2' },
    }),
    status: 400,
    code: 'invalid_openrouter_key',
  },
  {
    name: 'agent with a path trick',
    input: () => valid({ agent: '../../bin/sh' }),
    status: 400,
    code: 'invalid_agent',
  },
  {
    name: 'agent by an import path not allowed',
    input: () => valid({ agent: 'os:system' }),
    status: 422,
    code: 'import_path_not_allowed',
    says: 'ALLOWED_IMPORT_PATHS',
  },
  {
    name: 'environment by an import path not allowed',
    input: () => valid({ environment: 'harbor_runner_testenv.environment:LocalSandboxEnvironment' }),
    status: 422,
    code: 'import_path_not_allowed',
    says: 'ALLOWED_IMPORT_PATHS',
  },
  {
    name: 'timeout_multiplier of 0',
    input: () => valid({ timeout_multiplier: '0' }),
    status: 400,
    code: 'invalid_timeout_multiplier',
  },
  {
    name: 'model with a NUL',
    input: () => valid({ model: 'openai/gpt\u0000-4o' }),
    status: 400,
    code: 'invalid_model',
  },
  {
    name: 'model with a newline',
    input: () => valid({ model: 'openai/gpt-4o\n' }),
    status: 400,
    code: 'invalid_model',
  },
  {
    name: 'model of 1000 characters',
    input: () => valid({ model: `a/${'b'.repeat(998)}` }),
    status: 400,
    code: 'invalid_model',
  },
  {
    name: 'model of 10 000 characters',
    input: () => valid({ model: 'm'.repeat(10_000) }),
    status: 400,
    code: 'invalid_model',
  },
  { name: 'agent with a newline', input: () => valid({ agent: 'oracle\nnop' }), status: 400, code: 'invalid_agent' },
  {
    name: 'agent over the field size limit',
    input: () => valid({ agent: 'a'.repeat(5000) }),
    status: 400,
    code: 'invalid_agent',
  },
  {
    name: 'environment with a tab',
    input: () => valid({ environment: 'doc\tker' }),
    status: 400,
    code: 'invalid_environment',
  },
  { name: 'harness with a NUL', input: () => valid({ harness: 'harbor\u0000' }), status: 400, code: 'invalid_harness' },
  { name: 'n_runs of 1.5', input: () => valid({ n_runs: '1.5' }), status: 400, code: 'invalid_n_runs' },
  { name: 'n_runs of 1e3', input: () => valid({ n_runs: '1e3' }), status: 400, code: 'invalid_n_runs' },
  {
    name: 'n_runs of 400 digits',
    input: () => valid({ n_runs: '9'.repeat(400) }),
    status: 400,
    code: 'invalid_n_runs',
  },
  { name: 'max_parallel of "x"', input: () => valid({ max_parallel: 'x' }), status: 400, code: 'invalid_max_parallel' },
  { name: 'max_parallel of 0', input: () => valid({ max_parallel: '0' }), status: 400, code: 'invalid_max_parallel' },
  {
    name: 'timeout_multiplier of NaN',
    input: () => valid({ timeout_multiplier: 'NaN' }),
    status: 400,
    code: 'invalid_timeout_multiplier',
  },
  {
    name: 'timeout_multiplier of Infinity',
    input: () => valid({ timeout_multiplier: 'Infinity' }),
    status: 400,
    code: 'invalid_timeout_multiplier',
  },
  {
    name: 'timeout_multiplier of -1',
    input: () => valid({ timeout_multiplier: '-1' }),
    status: 400,
    code: 'invalid_timeout_multiplier',
  },
  {
    name: 'openrouter_key with a space',
    input: () => valid({ openrouter_key: 'sk-or v1-key' }),
    status: 400,
    code: 'invalid_openrouter_key',
  },
  {
    name: 'the same field twice',
    input: () => form([...fieldParts(FIELDS), ['model', 'openai/gpt-4o-mini']]),
    status: 400,
    code: 'duplicate_field',
  },
  {
    name: 'too many parts',
    input: () => form([...fieldParts(ALL_FIELDS), ['n_runs', '3']]),
    status: 400,
    code: 'too_many_parts',
  },
  {
    name: 'file part under the wrong name',
    input: async () => form([['archive', await buildZip(harborTask()), 'task.zip'], ...fieldParts(FIELDS)], false),
    status: 400,
    code: 'unknown_field',
  },
  {
    name: 'two file parts',
    input: async () => form([['file', await buildZip(harborTask()), 'again.zip'], ...fieldParts(FIELDS)]),
    status: 400,
    code: 'duplicate_field',
  },
  {
    name: 'file sent as a text field',
    input: () => form([['file', 'PK not really'], ...fieldParts(FIELDS)], false),
    status: 400,
    code: 'invalid_file',
  },
  {
    // busboy refuses the part's header itself: the name is inside it.
    name: 'field name with a control character',
    input: () => valid({ 'mo\u0001del': 'x' }),
    status: 400,
    code: 'malformed_multipart',
  },
  {
    name: 'Idempotency-Key with a control character',
    input: async () => ({ ...(await valid()), headers: { 'Idempotency-Key': 'retry\tme' } }),
    status: 400,
    code: 'invalid_idempotency_key',
  },
  {
    name: 'Idempotency-Key over 200 characters',
    input: async () => ({ ...(await valid()), headers: { 'Idempotency-Key': 'k'.repeat(201) } }),
    status: 400,
    code: 'invalid_idempotency_key',
  },
  {
    name: 'not multipart (JSON)',
    input: async () => ({ body: '{}', contentType: 'application/json' }),
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'multipart without a boundary',
    input: async () => ({ body: 'x', contentType: 'multipart/form-data' }),
    status: 400,
    code: 'malformed_multipart',
  },
  {
    name: 'multipart body cut off',
    input: async () => ({
      body: '--xyz\r\nContent-Disposition: form-data; name="model"\r\n\r\nopenai/gpt-4o\r\n--xyz\r\nContent-Disp',
      contentType: 'multipart/form-data; boundary=xyz',
    }),
    status: 400,
    code: 'malformed_multipart',
  },
  {
    name: 'multipart body empty',
    input: async () => ({ body: '', contentType: 'multipart/form-data; boundary=xyz' }),
    status: 400,
    code: 'malformed_multipart',
  },
  { name: 'unknown field', input: () => valid({ colour: 'blue' }), status: 400, code: 'unknown_field' },
  { name: 'no file', input: async () => ({ fields: FIELDS }), status: 400, code: 'missing_file' },
  {
    name: 'Harbor task for the terminus harness',
    input: () => valid({ harness: 'terminus' }),
    status: 422,
    code: 'unsupported_task_format',
  },
  {
    name: 'Terminal-Bench task without difficulty (its own model)',
    input: async () => ({
      file: await buildZip({ ...terminalBenchTask(), 'task.yaml': 'instruction: Print hello.\n' }),
      fields: { ...FIELDS, harness: 'terminus' },
    }),
    status: 422,
    code: 'invalid_task',
  },
  {
    name: 'Terminal-Bench task without docker-compose.yaml',
    input: async () => ({
      file: await buildZip(without(terminalBenchTask(), 'docker-compose.yaml')),
      fields: { ...FIELDS, harness: 'terminus' },
    }),
    status: 422,
    code: 'invalid_task',
  },
  {
    name: 'Terminal-Bench task harbor cannot convert',
    input: async () => ({
      file: await buildZip({ ...without(terminalBenchTask(), 'solution.sh'), 'solution.yaml': '- command: echo hi\n' }),
      fields: FIELDS,
    }),
    status: 422,
    code: 'invalid_task',
  },
]

function raw(spec: ZipSpec) {
  return Object.entries(spec).map(([name, v]) =>
    typeof v === 'string'
      ? { name, data: v, mode: 0o100644 }
      : { name, data: v.data, mode: 0o100000 | (v.mode ?? 0o644) },
  )
}

function manyFiles(n: number): ZipSpec {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`extra/f${i}.txt`, `${i}`]))
}

let service: TestService
let temporal: Client

beforeAll(async () => {
  service = await startTestService({ worker: false, env: LIMITS })
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) })
})
afterAll(async () => {
  await service?.stop()
  await temporal?.connection.close()
})

/** Everything an upload could leave behind. */
async function leftovers() {
  const db = service.db.db
  const count = async (table: 'jobs' | 'runs' | 'job_secrets') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )
  const files = async (dir: string) => (await readdir(path.join(service.config.dataDir, dir)).catch(() => [])).length
  const { count: workflows } = await temporal.workflow.count(`TaskQueue = '${service.config.temporal.taskQueue}'`)
  return {
    jobs: await count('jobs'),
    runs: await count('runs'),
    secrets: await count('job_secrets'),
    tasks: await files('tasks'),
    uploads: await files('uploads'),
    workflows,
  }
}

const NOTHING = { jobs: 0, runs: 0, secrets: 0, tasks: 0, uploads: 0, workflows: 0 }

async function send(request: Request): Promise<{ status: number; body: any }> {
  const url = `${service.api.url}/api/upload`
  if ('body' in request) {
    const res = await fetch(url, {
      method: 'POST',
      body: request.body,
      headers: { 'content-type': request.contentType },
    })
    return { status: res.status, body: await res.json() }
  }
  if ('parts' in request) {
    const form = new FormData()
    for (const [name, value, filename] of request.parts) {
      if (typeof value === 'string') form.append(name, value)
      else form.append(name, new Blob([value], { type: 'application/zip' }), filename)
    }
    const res = await fetch(url, { method: 'POST', body: form, headers: request.headers })
    return { status: res.status, body: await res.json() }
  }
  return upload(service.api.url, request)
}

/** Refusals that stop an attack, for the reliability report's table of attacks. */
const THREAT_OF_CODE: Record<string, Threat | undefined> = {
  task_compose_forbidden: 'compose_escape',
  import_path_not_allowed: 'import_path',
}

describe('malformed uploads', () => {
  it('each get their own 4xx code and leave nothing behind', async () => {
    const failures: string[] = []
    for (const c of CASES) {
      const before = failures.length
      const { status, body } = await send(await c.input())
      const message: unknown = body?.error?.message
      if (status !== c.status || body?.error?.code !== c.code) {
        failures.push(`${c.name}: expected ${c.status} ${c.code}, got ${status} ${JSON.stringify(body).slice(0, 500)}`)
      } else if (typeof message !== 'string' || message.length === 0) {
        failures.push(`${c.name}: no message`)
      } else if (c.says !== undefined && !message.includes(c.says)) {
        failures.push(`${c.name}: the message does not say ${JSON.stringify(c.says)}: ${message}`)
      }
      const left = await leftovers()
      if (JSON.stringify(left) !== JSON.stringify(NOTHING)) failures.push(`${c.name}: left ${JSON.stringify(left)}`)
      await record({ row: 'bad_input', what: `upload: ${c.name}`, ok: failures.length === before })
      const threat = THREAT_OF_CODE[c.code]
      if (threat) await record({ row: 'attack', threat, what: `upload: ${c.name}`, ok: failures.length === before })
    }
    expect(failures).toEqual([])
  })

  it('accepts the same upload when it is well-formed (the leftover check sees what a job leaves)', async () => {
    const { status, body } = await upload(service.api.url, await valid())
    expect(status).toBe(201)
    expect(body).toMatchObject({ status: 'queued', runs_queued: 2, task_name: 'test/hello-world', agent: 'oracle' })
    // (Temporal's count of workflows is eventually consistent: it may lag the start for a moment.)
    const left = await eventually(leftovers, (l) => l.workflows === 1, { timeoutMs: 10_000, everyMs: 200 })
    expect(left).toEqual({ jobs: 1, runs: 2, secrets: 1, tasks: 1, uploads: 0, workflows: 1 })
    await temporal.workflow.getHandle(`job-${body.job_id}`).terminate('test over')
  })

  it('accepts compose files that stay in their sandbox, both formats, converted or not', async () => {
    const sidecar =
      'image: postgres:16\n    environment: [POSTGRES_PASSWORD=x]\n    volumes: [pgdata:/var/lib/postgresql/data]'
    const harbor = withCompose(
      `${composeService('main', 'volumes: ["${HOST_AGENT_LOGS_PATH}:${ENV_AGENT_LOGS_PATH}"]', 'depends_on: [db]')}` +
        `  db:\n    ${sidecar}\nvolumes:\n  pgdata: {}\n`,
    )
    const tb = readFile(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'tb-hello', 'docker-compose.yaml'), 'utf8')
    const tbWithSidecar = async () => `${await tb}  db:\n    ${sidecar}\nvolumes:\n  pgdata: {}\n`
    const inputs = [
      await harbor,
      await tbWithCompose(await tb),
      // Converted by harbor task migrate into a compose file of its own (main + db), checked again.
      await tbWithCompose(await tbWithSidecar(), 'harbor'),
    ]
    for (const input of inputs) {
      const { status, body } = await upload(service.api.url, input)
      expect(status, JSON.stringify(body)).toBe(201)
      await temporal.workflow.getHandle(`job-${body.job_id}`).terminate('test over')
    }
  })

  it('answers a retried upload with its Idempotency-Key with the first job, not a second', async () => {
    const before = await leftovers()
    const input = { ...(await valid()), headers: { 'Idempotency-Key': 'retry-me-123' } }
    const first = await upload(service.api.url, input)
    const again = await upload(service.api.url, input)
    expect(first.status).toBe(201)
    expect(again.status).toBe(200)
    expect(again.body.job_id).toBe(first.body.job_id)
    const after = await eventually(leftovers, (l) => l.workflows - before.workflows >= 1, {
      timeoutMs: 10_000,
      everyMs: 200,
    })
    expect(after.jobs - before.jobs).toBe(1)
    expect(after.workflows - before.workflows).toBe(1)
    await temporal.workflow.getHandle(`job-${first.body.job_id}`).terminate('test over')
  })
})

describe('a deployment that relaxes the compose policy (TASK_COMPOSE_ALLOW)', () => {
  let relaxed: TestService
  beforeAll(async () => {
    relaxed = await startTestService({ worker: false, env: { TASK_COMPOSE_ALLOW: 'privileged' } })
  })
  afterAll(async () => {
    await relaxed?.stop()
  })

  it('accepts what it allows, and refuses the rest', async () => {
    const privileged = await withCompose(composeService('main', 'image: ubuntu:24.04', 'privileged: true'))
    const accepted = await upload(relaxed.api.url, privileged)
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
    await temporal.workflow.getHandle(`job-${accepted.body.job_id}`).terminate('test over')
    const socket = await withCompose(composeService('main', 'privileged: true', 'volumes: ["/var/run:/var/run"]'))
    const refused = await upload(relaxed.api.url, socket)
    expect([refused.status, refused.body.error.code]).toEqual([422, 'task_compose_forbidden'])
    expect(refused.body.error.message).toMatch(/volumes\[0\].*TASK_COMPOSE_ALLOW=docker_socket/)
  })
})
