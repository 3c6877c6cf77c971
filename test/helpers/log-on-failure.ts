/**
 * A setup file of every test file (vitest.config.ts): the log lines kept by `test-log.ts` are printed
 * for a test that failed and dropped for one that passed; what is left when the file ends (its
 * `afterAll`, or a `beforeAll` that failed) is printed only if something in the file failed.
 */
import { afterAll, beforeEach, onTestFinished } from 'vitest'
import { takeLines } from './test-log.js'

function print(title: string, text: string): void {
  if (text) process.stderr.write(`\n----- log of ${title} -----\n${text}----- end of log -----\n`)
}

beforeEach(() => {
  onTestFinished(({ task }) => {
    const text = takeLines()
    if (task.result?.state === 'fail') print(`"${task.name}" (failed)`, text)
  })
})

// (vitest reads the hook's first parameter as a fixture pattern: it must be destructured.)
afterAll(({}, suite) => {
  const text = takeLines()
  const failed = suite.result?.state === 'fail' || suite.tasks.some((t) => t.result?.state === 'fail')
  if (failed) print(`${suite.name} (outside its tests)`, text)
})
