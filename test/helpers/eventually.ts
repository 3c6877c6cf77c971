/**
 * Reads `read` until `ok` holds of its value or `timeoutMs` has passed, every `everyMs`; resolves
 * with the last value read either way, so the caller's assertion shows what was seen.
 */
export async function eventually<T>(
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  { timeoutMs = 5_000, everyMs = 20 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (ok(value) || Date.now() > deadline) return value
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
