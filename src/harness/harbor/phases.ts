/**
 * Harbor's phases, from the events our phase recorder writes as each begins
 * (harness-plugins/harbor_runner_hooks): one JSON object per line of PHASE_EVENTS_FILE.
 */

/** The run's phase once a phase event has been seen. */
export const PHASE_OF_EVENT: Record<string, string> = {
  trial_started: 'environment_setup',
  environment_started: 'environment_setup',
  agent_setup_started: 'agent_setup',
  agent_started: 'agent',
  agent_ended: 'agent',
  verification_started: 'verifier',
  trial_cancelled: 'cancelling',
  trial_ended: 'finishing',
}

/** The phase a line of the phase events names, or null for any other line. */
export function phaseOfEventLine(line: string): string | null {
  try {
    return PHASE_OF_EVENT[(JSON.parse(line) as { event?: string }).event ?? ''] ?? null
  } catch {
    return null // not an event line
  }
}
