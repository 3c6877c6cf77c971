/**
 * `npm run token -- <command>`: the admin command for API tokens.
 *
 *   create --name NAME [--admin]   prints the new token once (only its sha256 is stored)
 *   list                           the tokens, without their values
 *   revoke --name NAME             the token stops working at once
 *
 * It works on the service's database: DATABASE_URL when set, otherwise the embedded one in the data
 * dir (reached while `npm start` runs it, or started here for the moment the command needs it).
 */
import { parseArgs } from 'node:util'
import { existsSync, promises as fs } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import type { Config } from './config.js'
import { createDb, migrateToLatest } from './db/database.js'
import { createToken, listTokens, revokeToken, TOKEN_NAME } from './db/tokens.js'
import { boot } from './runtime/process.js'
import { startEmbeddedPostgres } from './services/embedded-postgres.js'

const USAGE = 'usage: npm run token -- create --name NAME [--admin] | list | revoke --name NAME'

function fail(message: string): never {
  process.stderr.write(`harbor-runner token: ${message}\n`)
  process.exit(2)
}

/** A database URL for the command, and how to let go of it. */
async function openDatabase(config: Config): Promise<{ url: string; release: () => Promise<void> }> {
  if (config.database.url) return { url: config.database.url, release: async () => {} }
  const dir = path.join(config.dataDir, 'postgres')
  const passwordFile = `${dir}.password`
  if (existsSync(passwordFile)) {
    const password = (await fs.readFile(passwordFile, 'utf8')).trim()
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${config.database.embeddedPort}/harbor_runner`
    const probe = new pg.Client({ connectionString: url })
    const running = await probe.connect().then(
      () => true,
      () => false,
    )
    await probe.end().catch(() => undefined)
    if (running) return { url, release: async () => {} }
  }
  const server = await startEmbeddedPostgres({ dir, port: config.database.embeddedPort })
  return { url: server.url, release: server.stop }
}

async function main() {
  const { config } = boot('token')
  const { positionals, values } = (() => {
    try {
      return parseArgs({
        allowPositionals: true,
        options: { name: { type: 'string' }, admin: { type: 'boolean', default: false } },
      })
    } catch (err) {
      return fail(`${(err as Error).message}\n${USAGE}`)
    }
  })()
  const [command, ...rest] = positionals
  if (!command || rest.length > 0 || !['create', 'list', 'revoke'].includes(command)) fail(USAGE)
  if (command !== 'list' && !values.name) fail(`${command} needs --name\n${USAGE}`)
  if (values.name !== undefined && !TOKEN_NAME.test(values.name)) {
    fail('a token name is 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit')
  }

  const database = await openDatabase(config)
  const dbh = createDb(database.url, { max: 1 })
  let exitCode = 0
  try {
    await migrateToLatest(dbh.db)
    if (command === 'create') {
      const taken = (await listTokens(dbh.db)).some((t) => t.name === values.name && t.revoked_at === null)
      if (taken) {
        process.stderr.write(`harbor-runner token: an active token named "${values.name}" exists; revoke it first\n`)
        exitCode = 1
      } else {
        const { token } = await createToken(dbh.db, values.name!, values.admin)
        process.stdout.write(`${token}\n`)
        process.stderr.write(
          `created ${values.admin ? 'admin ' : ''}token "${values.name}"; it is shown only now: ` +
            'send it as "Authorization: Bearer <token>"\n',
        )
      }
    } else if (command === 'list') {
      for (const t of await listTokens(dbh.db)) {
        const state = t.revoked_at ? `revoked ${t.revoked_at.toISOString()}` : 'active'
        const used = t.last_used_at ? t.last_used_at.toISOString() : 'never'
        process.stdout.write(`${t.name}\t${t.admin ? 'admin' : 'user'}\t${state}\tlast used ${used}\n`)
      }
    } else if (!(await revokeToken(dbh.db, values.name!))) {
      process.stderr.write(`harbor-runner token: no active token named "${values.name}"\n`)
      exitCode = 1
    } else {
      process.stderr.write(`revoked token "${values.name}"\n`)
    }
  } finally {
    await dbh.close()
    await database.release()
  }
  process.exit(exitCode)
}

void main()
