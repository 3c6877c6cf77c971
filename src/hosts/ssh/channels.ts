/** Channels of a pooled connection besides `execCommand`'s: a command's own, and a stream-local forward. */
import type { Duplex } from 'node:stream'
import type { ClientChannel } from 'ssh2'
import type { PooledConnection } from './connection-pool.js'

/** A command's channel on a pooled connection. */
export function openChannel(c: PooledConnection, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const client = c.ssh.connection
    if (!client) return reject(new Error('not connected'))
    client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)))
  })
}

/**
 * A stream to the Unix socket at `socketPath` on the host: OpenSSH's
 * `direct-streamlocal@openssh.com` forward, on a pooled connection.
 */
export function openStreamLocal(c: PooledConnection, socketPath: string, hostId: string): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    const client = c.ssh.connection
    if (!client) return reject(new Error(`not connected to ${hostId}`))
    client.openssh_forwardOutStreamLocal(socketPath, (err, stream) => (err ? reject(err) : resolve(stream)))
  })
}
