/**
 * What every harness's environment on a host is built from (runtime/hosts.ts fills it in from the
 * configuration and the host), and the pieces that are the same for every harness. Each harness
 * builds its own environment from this base (its folder's `environment`).
 */

export interface HarnessEnvironmentBase {
  path: string
  /** `null` leaves HOME to the host (a remote user's own). */
  home: string | null
  pythonPath: string | null
  localCostMap: boolean
  openRouterBaseUrl: string | null
  /** A remote Docker daemon for the harness's containers. */
  docker?: DockerDaemon | null
}

export interface DockerDaemon {
  host: string
  tlsVerify: boolean
  certPath: string | null
}

/** DOCKER_HOST and its TLS settings, for a harness whose containers run on a remote daemon. */
export function dockerEnvironment(docker: DockerDaemon | null): Record<string, string> {
  if (!docker) return {}
  return {
    DOCKER_HOST: docker.host,
    ...(docker.tlsVerify ? { DOCKER_TLS_VERIFY: '1' } : {}),
    ...(docker.certPath ? { DOCKER_CERT_PATH: docker.certPath } : {}),
  }
}
