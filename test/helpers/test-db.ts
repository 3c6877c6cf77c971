/** A fresh database per test file, migrated with the real migrations. */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'
import { createDb, migrateToLatest, type DbHandle } from '../../src/db/database.js'

export interface TestDatabase extends DbHandle {
  url: string
  drop(): Promise<void>
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('postgresAdminUrl')
  const name = `hr_test_${randomBytes(6).toString('hex')}`
  await withAdmin(adminUrl, (c) => c.query(`create database ${name}`))
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const handle = createDb(url.toString())
  await migrateToLatest(handle.db)
  return {
    ...handle,
    url: url.toString(),
    async drop() {
      await handle.close()
      await withAdmin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`))
    },
  }
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}
