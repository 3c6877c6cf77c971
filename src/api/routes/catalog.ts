/**
 * GET /api/harnesses: what an upload may choose, for forms. The harnesses of the registry (how forms
 * name them, whether a job's environment and import paths mean anything to them, their agents that
 * need no key), their own agent names and Harbor's environment types (read from the installed
 * harnesses), the agents and environments the operator allows by import path, the defaults the upload
 * applies, and model suggestions: the models of the caller's recent jobs first, then a few common ones.
 */
import { Hono } from 'hono'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import { recentModels } from '../../db/jobs.js'
import { DEFAULT_HARNESS, harnessEntries } from '../../harness/registry.js'

/** Common OpenRouter model ids, offered when the caller has no history yet. Free text is always allowed. */
const COMMON_MODELS = [
  'anthropic/claude-sonnet-4.5',
  'anthropic/claude-opus-4.1',
  'openai/gpt-5',
  'openai/gpt-5-mini',
  'openai/gpt-4o',
  'google/gemini-2.5-pro',
  'deepseek/deepseek-chat-v3.1',
  'qwen/qwen3-coder',
  'moonshotai/kimi-k2',
]

export function catalogRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()
  app.get('/harnesses', async (c) => {
    const principal = c.get('principal')
    const [harnesses, recent] = await Promise.all([
      deps.harnessCatalog().catch(() => ({})),
      recentModels(deps.db, principal.admin ? undefined : principal.tokenId, 20),
    ])
    return c.json({
      harnesses,
      harness_options: harnessEntries().map(([name, h]) => ({
        name,
        label: h.label,
        environment: h.choosesEnvironment,
        import_paths: h.importPaths,
        agents_without_model: h.agentsWithoutModel,
      })),
      // Any of them as an agent or an environment (ALLOWED_IMPORT_PATHS, and DEFAULT_ENVIRONMENT when it is one).
      import_paths: deps.config.harness.allowedImportPaths,
      defaults: {
        harness: DEFAULT_HARNESS,
        agent: Object.fromEntries(harnessEntries().map(([name, h]) => [name, h.defaultAgent])),
        environment: deps.config.harness.defaultEnvironment,
        n_runs: 10,
        timeout_multiplier: 1,
      },
      limits: { runs_per_job: deps.config.limits.runsPerJob, upload_bytes: deps.config.limits.uploadBytes },
      models: [...new Set([...recent, ...COMMON_MODELS])],
    })
  })
  return app
}
