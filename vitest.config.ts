import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Integration tests mostly wait on harness processes: run a few files at once even on 2 cores.
    maxWorkers: 3,
    testTimeout: 60_000,
    // A file's services stop after its runs; with three files of harness processes sharing 2 cores that can take minutes.
    hookTimeout: 240_000,
    globalSetup: ['test/helpers/global-setup.ts'],
    // Log lines of the code under test are printed only for a test that fails (test/helpers/test-log.ts).
    setupFiles: ['test/helpers/log-on-failure.ts'],
  },
})
