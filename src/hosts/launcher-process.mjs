// The launcher's child side (see launcher.ts): starts each requested process detached, answers with
// its pid or the error, and reaps it when it ends. Plain JavaScript with no imports but Node's, so
// that it starts in a few tens of milliseconds and stays small: forking from a small process is
// cheap, where forking from a worker of hundreds of MiB blocks the worker's main thread.
import { spawn } from 'node:child_process'

process.on('message', (request) => {
  const { id, file, args, cwd, env } = request
  const reply = (answer) => process.send?.({ id, ...answer })
  let child
  try {
    child = spawn(file, args, { cwd, env, detached: true, stdio: 'ignore' })
  } catch (err) {
    reply({ error: err.message, code: err.code ?? null })
    return
  }
  child.once('spawn', () => reply({ pid: child.pid }))
  child.once('error', (err) => reply({ error: err.message, code: err.code ?? null }))
  child.unref()
})

// The worker went away: what it started runs on (each in its own session), reparented.
process.on('disconnect', () => process.exit(0))
