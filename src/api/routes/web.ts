/**
 * The dashboard, served at `/` by the API itself: one HTML page, one script and one stylesheet, all
 * from this repository (no CDN, works offline). The script is bundled from `web/src/` by esbuild
 * when first asked for and kept in memory, so there is no build step and nothing stale on disk.
 *
 * The page is public (it holds no data); everything it shows comes from the API with the user's
 * token. A strict Content-Security-Policy allows only this origin's script and style.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { Hono } from 'hono'

/** The dashboard's sources, in the repository beside src/. */
const WEB_DIR = fileURLToPath(new URL('../../../web', import.meta.url))
/** Page routes of the single-page app; each answers with index.html and the script takes over. */
const PAGES = ['/', '/upload', '/compare', '/jobs/:job_id', '/jobs/:job_id/runs/:run_number']

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
}

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [path.join(WEB_DIR, 'src', 'main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    write: false,
    logLevel: 'silent',
  })
  return result.outputFiles[0]!.text
}

export function webRoutes() {
  const app = new Hono()
  let script: Promise<string> | null = null
  const assets = {
    'app.js': {
      type: 'text/javascript; charset=utf-8',
      load: () =>
        (script ??= bundle().catch((err: unknown) => {
          script = null
          throw err
        })),
    },
    'app.css': { type: 'text/css; charset=utf-8', load: () => readFile(path.join(WEB_DIR, 'app.css'), 'utf8') },
  } as const

  app.get('/assets/:name', async (c) => {
    const asset = assets[c.req.param('name') as keyof typeof assets]
    if (!asset) return c.text('not found', 404)
    return c.body(await asset.load(), 200, {
      'Content-Type': asset.type,
      'Cache-Control': 'no-cache',
      ...SECURITY_HEADERS,
    })
  })
  for (const page of PAGES) {
    app.get(page, async (c) =>
      c.html(await readFile(path.join(WEB_DIR, 'index.html'), 'utf8'), 200, {
        'Cache-Control': 'no-cache',
        ...SECURITY_HEADERS,
      }),
    )
  }
  return app
}
