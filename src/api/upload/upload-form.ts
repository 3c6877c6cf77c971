/**
 * The fields of an upload besides the archive (docs/product.md, "API"): validated, defaulted, and checked
 * against each other. Every problem is a 400 whose code names the field, e.g. `invalid_n_runs`; an
 * agent or environment by import path the operator has not allowed is a 422 `import_path_not_allowed`.
 */
import { z } from 'zod'
import { ApiError } from '../errors.js'
import { DEFAULT_HARNESS, HARNESS_NAMES, HARNESSES } from '../../harness/registry.js'
import { importPathRefusal, refusedImportPaths } from '../../shared/import-paths.js'

export const UPLOAD_FIELDS = [
  'harness',
  'model',
  'openrouter_key',
  'n_runs',
  'agent',
  'environment',
  'max_parallel',
  'timeout_multiplier',
] as const

/** Any control character (C0, DEL, C1): never part of a name, and trimming must not hide one. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** A string field without control characters, then trimmed of surrounding spaces. */
function text(name: string, required?: string) {
  return z
    .string(required ? { message: required } : undefined)
    .refine((v) => !CONTROL.test(v), `${name} must not contain control characters`)
    .trim()
}

/** A built-in name, a `module.path:ClassName` import path, or an ACP shorthand. */
const PLUGIN_NAME = /^(?:[a-z0-9][a-z0-9._-]{0,63}|[A-Za-z_][\w.]{0,199}:[A-Za-z_]\w{0,99}|acp:[a-z0-9][\w.@-]{0,99})$/

/** `"a" or "b"`, `"a", "b" or "c"`. */
function oneOf(names: readonly string[]): string {
  const quoted = names.map((n) => JSON.stringify(n))
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted.join('')
}

function intField(name: string, min: number, max: number) {
  return z
    .string()
    .regex(/^\s*\d+\s*$/, `${name} must be a whole number`)
    .transform((v) => Number.parseInt(v, 10))
    .pipe(z.number().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`))
}

/** An OpenRouter key as a request may send it (an upload's, or a retry's that brings it again). */
export const OPENROUTER_KEY = z
  .string()
  .trim()
  .regex(/^[\x21-\x7e]{8,512}$/, 'openrouter_key must be 8 to 512 printable characters without spaces')

function uploadSchema(maxRuns: number, defaultEnvironment: string) {
  return z
    .object({
      harness: z.enum(HARNESS_NAMES, { message: `harness must be ${oneOf(HARNESS_NAMES)}` }).default(DEFAULT_HARNESS),
      model: text('model', 'model is required, e.g. openai/gpt-4o').regex(
        /^[A-Za-z0-9][\w.:/@+-]{0,199}$/,
        'model must look like vendor/model (at most 200 characters), e.g. openai/gpt-4o',
      ),
      openrouter_key: OPENROUTER_KEY.optional(),
      n_runs: intField('n_runs', 1, maxRuns).default(10),
      agent: text('agent').regex(PLUGIN_NAME, 'agent must be an agent name or module.path:ClassName').optional(),
      environment: text('environment')
        .regex(PLUGIN_NAME, 'environment must be an environment type or module.path:ClassName')
        .default(defaultEnvironment),
      max_parallel: intField('max_parallel', 1, maxRuns).optional(),
      timeout_multiplier: z
        .string()
        .regex(/^\s*\d+(\.\d+)?\s*$/, 'timeout_multiplier must be a number')
        .transform(Number)
        .pipe(z.number().gt(0, 'timeout_multiplier must be above 0').max(100, 'timeout_multiplier must be at most 100'))
        .default(1),
    })
    .transform((f) => ({
      ...f,
      agent: f.agent ?? HARNESSES[f.harness].defaultAgent,
      /** As asked; null: all of the job's runs at once (see {@link maxParallelOf}). */
      max_parallel: f.max_parallel ?? null,
    }))
}

export type UploadForm = z.infer<ReturnType<typeof uploadSchema>>

/**
 * How many of a job's `nRuns` runs may run at once: `max_parallel` as asked, else all of them, never
 * more than there are. A dataset's job has n_runs × its tasks runs: max_parallel is the job's, not a
 * task's.
 */
export function maxParallelOf(form: Pick<UploadForm, 'max_parallel'>, nRuns: number): number {
  return Math.min(form.max_parallel ?? nRuns, nRuns)
}

/**
 * A parser of the text fields for the service's limits and its allowed import paths (see
 * src/shared/import-paths.ts); throws {@link ApiError}.
 */
export function uploadFormParser(maxRuns: number, defaultEnvironment: string, allowedImportPaths: readonly string[]) {
  const schema = uploadSchema(maxRuns, defaultEnvironment)
  return function parseUploadForm(fields: Record<string, string>): UploadForm {
    const parsed = schema.safeParse(fields)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      const field = String(issue.path[0] ?? 'form')
      throw new ApiError(400, `invalid_${field}`, issue.message, field)
    }
    const form = parsed.data
    const [refused] = refusedImportPaths(form, allowedImportPaths)
    if (refused) throw new ApiError(422, 'import_path_not_allowed', importPathRefusal(refused, form[refused]), refused)
    // Agents that never call a model need no key.
    if (!form.openrouter_key && !HARNESSES[form.harness].agentsWithoutModel.includes(form.agent)) {
      throw new ApiError(
        400,
        'invalid_openrouter_key',
        `openrouter_key is required for agent ${form.agent}`,
        'openrouter_key',
      )
    }
    return form
  }
}
