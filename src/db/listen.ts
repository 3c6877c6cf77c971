/**
 * A PostgreSQL connection of its own that LISTENs on one channel and hands each notification's
 * payload to `onPayload`. If the connection fails or ends it is opened again a second later, and
 * `onListening` is called each time the LISTEN is in place (notifications sent while it was not are
 * lost, so a caller that cannot miss one looks again then). `onLost` says that a LISTEN that was in
 * place is not any more.
 */
import pg from 'pg'

export interface Listener {
  close(): Promise<void>
}

export function listen(
  databaseUrl: string,
  channel: string,
  handlers: {
    onPayload: (payload: string) => void
    onListening?: () => void
    onLost?: () => void
    onError?: (err: unknown) => void
  },
): Listener {
  let client: pg.Client | null = null
  let closed = false
  let retryTimer: NodeJS.Timeout | null = null
  const onError = handlers.onError ?? (() => {})

  const connect = async () => {
    if (closed) return
    const c = new pg.Client({ connectionString: databaseUrl })
    c.on('notification', (msg) => {
      if (msg.channel === channel) handlers.onPayload(msg.payload ?? '')
    })
    c.on('error', (err) => {
      onError(err)
      reconnectSoon(c)
    })
    c.on('end', () => reconnectSoon(c))
    try {
      await c.connect()
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      if (closed) {
        await c.end().catch(() => {})
        return
      }
      client = c
      handlers.onListening?.()
    } catch (err) {
      onError(err)
      reconnectSoon(c)
    }
  }

  const reconnectSoon = (c: pg.Client) => {
    if (client === c) {
      client = null
      handlers.onLost?.()
    }
    c.removeAllListeners('end')
    void c.end().catch(() => {})
    if (closed || retryTimer) return
    retryTimer = setTimeout(() => {
      retryTimer = null
      void connect()
    }, 1000)
  }

  void connect()

  return {
    async close() {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      const c = client
      client = null
      if (c) {
        handlers.onLost?.()
        c.removeAllListeners('end')
        await c.end().catch(() => {})
      }
    },
  }
}
