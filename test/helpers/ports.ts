import net from 'node:net'

/**
 * A TCP port free on 127.0.0.1 when asked, for a server a test starts a moment later (or again
 * later, as a restarted service must).
 *
 * Not port 0's pick: the kernel hands those out from its ephemeral range to anything that binds
 * port 0 or connects (servers the tests start, every client socket), so a port chosen that way can
 * be taken before it is used. These come from below that range (Linux: 32768 and up), from a block
 * of this process's own (test files run in parallel processes), each checked free before it is
 * given out.
 */
const LOW = 20_000
const BLOCKS = 64
const BLOCK_SIZE = Math.floor((32_768 - LOW) / BLOCKS)
const start = LOW + (process.pid % BLOCKS) * BLOCK_SIZE
let next = start

export async function freePort(): Promise<number> {
  // Round the block (a long-lived process may ask often), skipping ports in use.
  for (let tried = 0; tried < BLOCK_SIZE; tried++) {
    const port = next
    next = next + 1 < start + BLOCK_SIZE ? next + 1 : start
    if (await isFree(port)) return port
  }
  throw new Error(`no free port in ${start}–${start + BLOCK_SIZE - 1}`)
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
