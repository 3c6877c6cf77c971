#!/usr/bin/env node
// Installs what the service and its tests need, idempotently, using only Node, Python and apt.
//   node scripts/bootstrap.mjs          npm packages, and .venv with harbor + temporal (Python >= 3.12)
//   node scripts/bootstrap.mjs --test   also installs (apt, as root) the tools the test suite needs (flock, unshare, sshd,
//                                       ssh, rsync, chromium)
// Each step is skipped when its inputs have not changed since it last ran.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const forTests = process.argv.includes('--test')
const say = (msg) => process.stderr.write(`[bootstrap] ${msg}\n`)
const die = (msg) => {
  process.stderr.write(`\n[bootstrap] cannot continue: ${msg}\n\n`)
  process.exit(1)
}
const hashOf = (...files) => {
  const h = createHash('sha256')
  for (const f of files) h.update(existsSync(f) ? readFileSync(f) : '')
  return h.digest('hex')
}
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts })
  if (r.error) die(`${cmd} could not be run: ${r.error.message}`)
  if (r.status !== 0) die(`\`${cmd} ${args.join(' ')}\` failed with status ${r.status}`)
}

// 1. npm packages, when package-lock.json changed since the last install.
const lock = path.join(root, 'package-lock.json')
const npmStamp = path.join(root, 'node_modules', '.bootstrap-stamp')
const npmHash = hashOf(lock, path.join(root, 'package.json'))
if (!existsSync(npmStamp) || readFileSync(npmStamp, 'utf8') !== npmHash) {
  say('installing npm packages (npm ci)')
  run('npm', ['ci', '--no-audit', '--no-fund'])
  writeFileSync(npmStamp, npmHash)
}

// 2. Python >= 3.12 and the .venv with the pinned harness and Temporal CLIs.
function pythonVersion(bin) {
  try {
    const out = execFileSync(bin, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const [major, minor] = out.trim().split('.').map(Number)
    return { major, minor, ok: major === 3 && minor >= 12 }
  } catch {
    return null
  }
}
function findPython() {
  const candidates = []
  if (process.env.HARBOR_PYTHON) candidates.push(process.env.HARBOR_PYTHON)
  candidates.push('python3.13', 'python3.12', 'python3.14', 'python3')
  const pyenv = path.join(process.env.PYENV_ROOT ?? path.join(homedir(), '.pyenv'), 'versions')
  if (existsSync(pyenv)) {
    for (const v of readdirSync(pyenv).sort().reverse()) {
      if (/^3\.(1[2-9])\.\d+$/.test(v)) candidates.push(path.join(pyenv, v, 'bin', 'python'))
    }
  }
  for (const c of candidates) if (pythonVersion(c)?.ok) return c
  return null
}

const venv = path.join(root, '.venv')
const venvPython = path.join(venv, 'bin', 'python')
const requirements = path.join(root, 'python-requirements.txt')
const pyStamp = path.join(venv, '.bootstrap-stamp')
const pyHash = hashOf(requirements)
const venvOk = existsSync(venvPython) && pythonVersion(venvPython)?.ok
if (!venvOk || !existsSync(pyStamp) || readFileSync(pyStamp, 'utf8') !== pyHash) {
  if (!venvOk) {
    const python = findPython()
    if (!python) {
      die(
        'Harbor needs Python 3.12 or newer, and none was found (tried $HARBOR_PYTHON, python3.13, python3.12, python3, pyenv).\n' +
          '  Install one (e.g. `apt-get install python3.12 python3.12-venv` or `pyenv install 3.12`) or set HARBOR_PYTHON to it.',
      )
    }
    say(`creating .venv with ${python}`)
    run(python, ['-m', 'venv', '--clear', venv])
  }
  say('installing harbor and the temporal CLI into .venv (pip)')
  run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements])
  writeFileSync(pyStamp, pyHash)
}

// 3. What the test suite needs besides: the test-only Harbor environment runs trials in private
// mount namespaces (unshare), the harness supervisor uses flock, and remote execution hosts are tested
// against real OpenSSH servers on loopback (sshd at its absolute path, which it needs to re-execute
// itself; ssh, ssh-keygen, sftp; rsync). Missing ones are installed with apt when this runs as root
// (with services kept from starting: the tests run their own sshd on loopback, never the system's);
// otherwise the command to run is printed.
const tools = [
  ['flock', 'util-linux'],
  ...(forTests
    ? [
        ['unshare', 'util-linux'],
        ['/usr/sbin/sshd', 'openssh-server'],
        ['ssh', 'openssh-client'],
        ['ssh-keygen', 'openssh-client'],
        ['sftp', 'openssh-client'],
        ['rsync', 'rsync'],
        // The dashboard's end-to-end tests drive Debian's headless Chromium.
        [process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', 'chromium'],
      ]
    : []),
]
const missingTools = () =>
  tools.filter(([tool]) =>
    tool.startsWith('/')
      ? !existsSync(tool)
      : spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0,
  )
let missing = missingTools()
if (missing.length > 0) {
  const packages = [...new Set(missing.map(([, pkg]) => pkg))]
  const canApt =
    process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0
  if (canApt) {
    say(`installing ${packages.join(', ')} (apt-get)`)
    installWithApt(packages)
    missing = missingTools()
  }
  if (missing.length > 0) {
    die(
      `missing ${missing.map(([tool]) => tool).join(', ')} (Debian packages ${packages.join(', ')}):\n` +
        `  \`sudo apt-get install -y ${packages.join(' ')}\``,
    )
  }
}

/** apt-get install, with invoke-rc.d told (policy-rc.d) not to start the packages' services. */
function installWithApt(packages) {
  const policy = '/usr/sbin/policy-rc.d'
  const ownPolicy = !existsSync(policy)
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 })
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    run('apt-get', ['update', '-qq'], { env })
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env })
  } finally {
    if (ownPolicy) rmSync(policy, { force: true })
  }
}
