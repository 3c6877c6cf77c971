/** What a host's Harbor runners are made of: how many, their build, and the Python they run on. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { harborRunnerSpec, parseShebang } from '../../../src/harness/harbor/runner.js'
import { HARNESS_PLUGINS_DIR } from '../../../src/paths.js'

describe('the Python of a console script', () => {
  it('reads #!/path/python, #!/usr/bin/env python3, and pip’s long-path launcher', () => {
    expect(parseShebang('#!/opt/venv/bin/python3.12\n# -*- coding: utf-8 -*-\n')).toBe('/opt/venv/bin/python3.12')
    expect(parseShebang('#!/usr/bin/env python3\nimport sys\n')).toBe('python3')
    expect(parseShebang('#!/usr/bin/env -S python3 -u\n')).toBe('python3')
    const long = `#!/bin/sh\n'''exec' "/very/long/path/.venv/bin/python" "$0" "$@"\n' '''\nimport sys\n`
    expect(parseShebang(long)).toBe('/very/long/path/.venv/bin/python')
  })

  it('says no for what is not a Python script', () => {
    expect(parseShebang('#!/bin/sh\nexec python3 -S fake.py "$@"\n')).toBeNull()
    expect(parseShebang('#!/bin/bash\necho hi\n')).toBeNull()
    expect(parseShebang('\x7fELF\x02\x01')).toBeNull()
  })
})

describe('a host’s runners', () => {
  let plugins: string
  beforeAll(async () => {
    plugins = await mkdtemp(path.join(os.tmpdir(), 'hr-plugins-'))
    await writeFile(path.join(plugins, 'runner.py'), 'print(1)\n')
  })
  afterAll(() => rm(plugins, { recursive: true, force: true }))

  const spec = (over: Partial<Parameters<typeof harborRunnerSpec>[0]> = {}) =>
    harborRunnerSpec({
      bin: '/opt/venv/bin/harbor',
      env: { PATH: '/usr/bin', HARBOR_TELEMETRY: '0' },
      pluginsDir: plugins,
      slots: 600,
      maxAttemptsPerRunner: 250,
      preload: ['terminus-2'],
      idleExitSec: 900,
      ...over,
    })

  it('are as many as the slots need at most maxAttemptsPerRunner each, sharing the slots evenly', async () => {
    expect(spec().count).toBe(3)
    expect(spec({ slots: 4 }).count).toBe(1)
    expect(spec({ slots: 250 }).count).toBe(1)
    expect(spec({ slots: 251 }).count).toBe(2)
    const argv = await spec().argv(
      {
        absolute: () => '/w',
        exec: async () => ({ code: 0, stdout: '#!/opt/venv/bin/python\n', stderr: '' }),
      } as never,
      '/w/.runners/x',
      'x',
    )
    expect(argv.slice(0, 3)).toEqual(['/opt/venv/bin/python', '-m', 'harbor_trial_runner'])
    expect(argv[argv.indexOf('--max-attempts') + 1]).toBe('200')
  })

  it('are another build when their sources, interpreter, environment or options change, and only then', async () => {
    const build = spec().build
    expect(build).toMatch(/^[0-9a-f]{12}$/)
    expect(spec().build).toBe(build)
    expect(spec({ env: { PATH: '/usr/bin', HARBOR_TELEMETRY: '0', DOCKER_HOST: 'tcp://x:2376' } }).build).not.toBe(
      build,
    )
    expect(spec({ bin: '/other/bin/harbor' }).build).not.toBe(build)
    expect(spec({ slots: 4 }).build).not.toBe(build)
    expect(spec({ preload: [] }).build).not.toBe(build)
    await writeFile(path.join(plugins, 'runner.py'), 'print(2)\n')
    expect(spec().build).not.toBe(build)
  })

  it('are built from the project’s own runner sources', () => {
    expect(spec({ pluginsDir: HARNESS_PLUGINS_DIR }).build).toMatch(/^[0-9a-f]{12}$/)
  })
})
