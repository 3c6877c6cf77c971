/** A small structured logger: one JSON object per line on stderr. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(fields: Record<string, unknown>): Logger
}

export function createLogger(
  level: LogLevel,
  base: Record<string, unknown> = {},
  write = (line: string) => process.stderr.write(line),
): Logger {
  const emit = (l: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[l] < ORDER[level]) return
    write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...base, ...normalise(fields) }) + '\n')
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...normalise(fields) }, write),
  }
}

/** Fields that only ever hold a secret: a slip that passes one to the logger still prints nothing. */
const SECRET_FIELD = /^(authorization|password|secret|token|api_?key|openrouter_api_key|master_?key|secrets_?key)$/i

function normalise(fields?: Record<string, unknown>): Record<string, unknown> {
  if (!fields) return {}
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_FIELD.test(k)) out[k] = '[redacted]'
    else out[k] = v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v
  }
  return out
}

/** Writes nothing: for dependencies built without a logger (tests, tools). */
export const silentLogger: Logger = createLogger('error', {}, () => true)
