/** The supervisor and probe scripts, run as they are locally and copied to SSH hosts. */
import { fileURLToPath } from 'node:url'

export const SUPERVISOR_SCRIPT = fileURLToPath(new URL('./supervise.sh', import.meta.url))
export const PROBE_SCRIPT = fileURLToPath(new URL('./probe.sh', import.meta.url))
