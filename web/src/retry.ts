/**
 * Retrying a job's runs from a page: by number or by error class. A job given an OpenRouter key
 * loses it when it ends, so a retry after that must bring it again (the API answers 422
 * `openrouter_key_required`): the user is asked for it in a small form, and the request goes again.
 * Any other refusal (409: the run has not ended, the job is being cancelled, nothing to retry) is
 * shown as the API words it.
 */
import { api, ApiError } from './api.js'
import { fill, h } from './dom.js'

export type RetryRequest = { run_numbers: number[] } | { error_class: string }

export interface RetryAnswer {
  job_id: string
  retried: { run_number: number; retry: number; first_attempt: number }[]
}

/**
 * Sends the retry, asking for the key in `out` if the job needs it again; resolves with the API's
 * answer, or null once the user gave up or the API refused (its message then stays in `out`).
 */
export function retryRuns(jobId: string, request: RetryRequest, out: HTMLElement): Promise<RetryAnswer | null> {
  return new Promise((resolve) => {
    const send = (key?: string) => {
      fill(out, 'Retrying…')
      api<RetryAnswer>(`/api/jobs/${jobId}/retry`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(key ? { ...request, openrouter_key: key } : request),
      }).then(
        (answer) => {
          const n = answer.retried.length
          fill(out, `Retried ${n} run${n === 1 ? '' : 's'}.`)
          resolve(answer)
        },
        (err: unknown) => {
          const e = err instanceof ApiError ? err : new ApiError(0, 'error', String(err))
          if (e.code === 'openrouter_key_required') askKey(out, e.message, send, () => resolve(null))
          else {
            fill(out, h('span', { class: 'form-error' }, e.message))
            resolve(null)
          }
        },
      )
    }
    send()
  })
}

/** A small form in `out` for the key the job needs again; it sends or gives up. */
function askKey(out: HTMLElement, message: string, send: (key: string) => void, giveUp: () => void): void {
  const key = h('input', {
    type: 'password',
    id: 'retry-key',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'sk-or-…',
    required: true,
  })
  const form = h(
    'form',
    { class: 'key-prompt', 'aria-label': 'OpenRouter key for the retry' },
    h('p', { class: 'form-error', role: 'alert' }, message),
    h('label', {}, 'OpenRouter key ', key),
    h('button', { type: 'submit', class: 'primary' }, 'Retry with this key'),
    h(
      'button',
      {
        type: 'button',
        class: 'ghost',
        onclick: () => {
          fill(out)
          giveUp()
        },
      },
      'Never mind',
    ),
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const value = key.value.trim()
    if (!value) return key.focus()
    key.value = ''
    send(value)
  })
  fill(out, form)
  key.focus()
}
