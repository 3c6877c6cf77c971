/** Task archives for tests, built with jszip (well-formed); see raw-zip.ts for hostile ones. */
import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import JSZip from 'jszip'
import { PROJECT_ROOT } from '../../src/paths.js'

export interface ZipFileSpec {
  readonly data: string | Buffer
  /** Unix permission bits (and type bits for symlinks), e.g. 0o755. */
  readonly mode?: number
}

export type ZipSpec = Record<string, string | ZipFileSpec>

/** Builds a deflated zip with jszip, marked as made on UNIX so modes are kept; keys in insertion order. */
export async function buildZip(spec: ZipSpec, order?: string[]): Promise<Buffer> {
  const zip = new JSZip()
  for (const name of order ?? Object.keys(spec)) {
    const value = spec[name]
    if (value === undefined) throw new Error(`no such file in spec: ${name}`)
    const file = typeof value === 'string' ? { data: value } : value
    zip.file(name, file.data, { unixPermissions: file.mode ?? 0o644, createFolders: false })
  }
  return generate(zip)
}

/** A minimal valid Harbor task, optionally under a folder prefix such as `hello/`. */
export function harborTask(prefix = '', taskToml = '[task]\nname = "test/hello-world"\n'): ZipSpec {
  return {
    [`${prefix}task.toml`]: taskToml,
    [`${prefix}instruction.md`]: 'Print hello.\n',
    [`${prefix}environment/Dockerfile`]: 'FROM ubuntu:24.04\n',
    [`${prefix}tests/test.sh`]: { data: '#!/bin/sh\nexit 0\n', mode: 0o755 },
    [`${prefix}solution/solve.sh`]: { data: '#!/bin/sh\necho hello\n', mode: 0o755 },
  }
}

/** A minimal valid Terminal-Bench 1 task. */
export function terminalBenchTask(prefix = ''): ZipSpec {
  return {
    [`${prefix}task.yaml`]: 'instruction: Print hello.\ndifficulty: easy\n',
    [`${prefix}Dockerfile`]: 'FROM ubuntu:24.04\n',
    [`${prefix}docker-compose.yaml`]: 'services: {}\n',
    [`${prefix}run-tests.sh`]: { data: '#!/bin/sh\nexit 0\n', mode: 0o755 },
    [`${prefix}solution.sh`]: { data: '#!/bin/sh\necho hello\n', mode: 0o755 },
    [`${prefix}tests/test_outputs.py`]: 'def test_ok():\n    pass\n',
  }
}

/** Zips a task directory from disk (executable bits kept), e.g. one of test/fixtures/tasks. */
export async function zipDirectory(dir: string, prefix = ''): Promise<Buffer> {
  const zip = new JSZip()
  await addDirectory(zip, dir, prefix)
  return generate(zip)
}

/**
 * Zips task directories from disk as one dataset: each in a folder named after it, under `prefix`
 * (e.g. `mini/`, the dataset's folder; `''`: the task folders at the zip's root).
 */
export async function zipDataset(taskDirs: string[], prefix = ''): Promise<Buffer> {
  const zip = new JSZip()
  for (const dir of taskDirs) await addDirectory(zip, dir, `${prefix}${path.basename(dir)}/`)
  return generate(zip)
}

/** The dataset `mini` of the fixture tasks hello-pass, hello-fail (Harbor) and tb-hello (Terminal-Bench). */
export function miniDataset(): Promise<Buffer> {
  return zipDataset(
    ['hello-pass', 'hello-fail', 'tb-hello'].map((name) => path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', name)),
    'mini/',
  )
}

async function addDirectory(zip: JSZip, dir: string, prefix: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    const rel = path.relative(dir, file).split(path.sep).join('/')
    zip.file(prefix + rel, await readFile(file), {
      unixPermissions: (await stat(file)).mode & 0o777,
      createFolders: false,
    })
  }
}

function generate(zip: JSZip): Promise<Buffer> {
  return zip.generateAsync({ type: 'nodebuffer', platform: 'UNIX', compression: 'DEFLATE' })
}

/** hello-pass whose solution prints `slow step i/steps` once a second: a run that lasts `steps` seconds. */
export async function slowTask(steps: number): Promise<Buffer> {
  const dir = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass')
  const read = (f: string) => readFile(path.join(dir, f), 'utf8')
  return buildZip({
    'task.toml': await read('task.toml'),
    'instruction.md': await read('instruction.md'),
    'environment/Dockerfile': await read('environment/Dockerfile'),
    'tests/test.sh': { data: await read('tests/test.sh'), mode: 0o755 },
    'solution/solve.sh': {
      data: `#!/bin/bash\nfor i in $(seq 1 ${steps}); do echo "slow step $i/${steps}"; sleep 1; done\necho 'Hello, Harbor!' > hello.txt\n`,
      mode: 0o755,
    },
  })
}
