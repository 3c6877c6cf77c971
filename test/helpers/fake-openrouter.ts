/** Starts test/harbor-env/fake_openrouter.py: an OpenRouter stand-in on loopback (see its docstring). */
import path from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { PROJECT_ROOT } from '../../src/paths.js'

export interface FakeOpenRouter {
  /** What OPENROUTER_BASE_URL should be. */
  baseUrl: string
  stop(): Promise<void>
}

export async function startFakeOpenRouter(args: string[]): Promise<FakeOpenRouter> {
  const child: ResultPromise = execa(
    'python3',
    [path.join(PROJECT_ROOT, 'test', 'harbor-env', 'fake_openrouter.py'), ...args],
    {
      reject: false,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().split('\n')[0]!.trim()))
    void child.then(() => reject(new Error('fake OpenRouter exited before listening')))
  })
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    async stop() {
      child.kill('SIGTERM')
      await child
    },
  }
}
