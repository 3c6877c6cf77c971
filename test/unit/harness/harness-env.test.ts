/** The harness's environment: nothing of the worker's own, the remote Docker daemon when there is one. */
import { describe, expect, it } from 'vitest'
import { harnessEnvironment } from '../../../src/harness/harbor/command.js'
import { tbHarnessEnvironment } from '../../../src/harness/terminus/command.js'

const base = {
  path: '/usr/bin:/bin',
  home: '/home/runner',
  pythonPath: null,
  localCostMap: true,
  openRouterBaseUrl: null,
}

describe('harness environment', () => {
  it('passes DOCKER_HOST and its TLS settings for a remote Docker daemon, to both harnesses', () => {
    const docker = { host: 'tcp://10.0.0.9:2376', tlsVerify: true, certPath: '/etc/docker/certs' }
    for (const env of [harnessEnvironment({ ...base, docker }), tbHarnessEnvironment({ ...base, docker })]) {
      expect(env).toMatchObject({
        DOCKER_HOST: 'tcp://10.0.0.9:2376',
        DOCKER_TLS_VERIFY: '1',
        DOCKER_CERT_PATH: '/etc/docker/certs',
      })
    }
    expect(harnessEnvironment(base)).not.toHaveProperty('DOCKER_HOST')
  })

  it('leaves HOME to a remote host when none is given', () => {
    expect(harnessEnvironment({ ...base, home: null })).not.toHaveProperty('HOME')
    expect(harnessEnvironment(base).HOME).toBe('/home/runner')
  })

  it('holds only what the harness needs', () => {
    expect(Object.keys(harnessEnvironment({ ...base, openRouterBaseUrl: 'http://proxy/api/v1' })).sort()).toEqual([
      'COLUMNS',
      'HARBOR_TELEMETRY',
      'HOME',
      'LANG',
      'LITELLM_LOCAL_MODEL_COST_MAP',
      'NO_COLOR',
      'OPENROUTER_API_BASE',
      'PATH',
      'PYTHONUNBUFFERED',
      'TERM',
      '_TYPER_STANDARD_TRACEBACK',
    ])
  })
})
