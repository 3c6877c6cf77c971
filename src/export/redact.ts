/**
 * Keeps keys out of what an export writes. Our stored results were scrubbed of the job's key when
 * they were collected, but a result or configuration may still carry other credentials by name:
 * Harbor's `env` maps (agent, environment, verifier) are saved with their values, templatised only
 * when they look sensitive to Harbor, and an agent's kwargs (e.g. `llm_kwargs.api_key`) are saved in
 * plain text. So every `env` map's values, and every text under a key that names a credential, are
 * replaced, whatever else is kept. Pure.
 */

export const REDACTED = '[REDACTED]'

/** A key whose text value is a credential: `api_key`, `OPENROUTER_API_KEY`, `password`, `auth_token`, … */
const SECRET_KEY = /(api[_-]?key|secret|passw(or)?d|token|authorization|credential|private[_-]?key|cookie)/i
/** … but not one that names where a credential is (`model_api_key_name`) or counts tokens. */
const NOT_SECRET_KEY = /(_name|_names|_env|_var)$|^n_|tokens$/i

/** A deep copy of `value` with the credentials replaced by {@link REDACTED}. */
export function redactSecrets<T>(value: T): T {
  return redact(value, null) as T
}

function redact(value: unknown, key: string | null): unknown {
  // Harbor still reads an `env` given as a list of `KEY=VALUE`.
  if (key === 'env' && Array.isArray(value)) return value.map((v) => `${String(v).split('=')[0]}=${REDACTED}`)
  if (Array.isArray(value)) return value.map((v) => redact(v, null))
  if (value !== null && typeof value === 'object') {
    if (key === 'env') return Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]))
  }
  if (typeof value === 'string' && key !== null && SECRET_KEY.test(key) && !NOT_SECRET_KEY.test(key)) return REDACTED
  return value
}
