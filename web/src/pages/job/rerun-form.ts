/**
 * "Re-run…": the same tasks as a new job, with another model, agent, number of runs per task or
 * parallelism, each starting as this job's. Only what the user changed is sent (the API takes the
 * rest from this job); a model that needs a key needs it again, since a job's key is never kept past
 * its end. On success the page moves to the new job; the API's errors appear next to their field.
 */
import { api, ApiError } from '../../api.js'
import { h } from '../../dom.js'
import { navigate } from '../../navigate.js'
import type { JobView } from '../../shapes.js'

const FIELDS = ['model', 'agent', 'n_runs', 'max_parallel', 'openrouter_key'] as const
type Field = (typeof FIELDS)[number]

export interface RerunForm {
  el: HTMLElement
  update(job: JobView): void
}

export function rerunForm(jobId: string): RerunForm {
  const inputs: Record<Field, HTMLInputElement> = {
    model: h('input', { name: 'model', autocomplete: 'off', spellcheck: 'false', required: true }),
    agent: h('input', { name: 'agent', autocomplete: 'off', spellcheck: 'false' }),
    n_runs: h('input', { name: 'n_runs', type: 'number', min: 1 }),
    max_parallel: h('input', { name: 'max_parallel', type: 'number', min: 1 }),
    openrouter_key: h('input', {
      name: 'openrouter_key',
      type: 'password',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'sk-or-…',
    }),
  }
  const labels: Record<Field, string> = {
    model: 'Model',
    agent: 'Agent',
    n_runs: 'Runs per task',
    max_parallel: 'Max parallel runs',
    openrouter_key: 'OpenRouter key',
  }
  const formError = h('p', { class: 'form-error', role: 'alert', id: 'rerun-error' })
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start the new job')
  const form = h(
    'form',
    { class: 'rerun', id: 'rerun-form', novalidate: true },
    h(
      'div',
      { class: 'row' },
      FIELDS.map((name) => {
        const input = inputs[name]
        input.id = `rerun-${name}`
        input.setAttribute('aria-describedby', `rerun-err-${name}`)
        return h(
          'div',
          { class: 'field' },
          h('label', { for: input.id }, labels[name]),
          input,
          h('p', { class: 'field-error', id: `rerun-err-${name}`, role: 'alert' }),
        )
      }),
    ),
    h('p', { class: 'hint' }, 'The key is sent with this request only; oracle and nop need none.'),
    formError,
    h('div', { class: 'actions' }, submit),
  )
  const el = h('details', { class: 'rerun-details' }, h('summary', {}, 'Re-run…'), form)

  let source: JobView | null = null
  const update = (job: JobView) => {
    const first = source === null
    source = job
    if (!first) return
    inputs.model.value = job.model
    inputs.agent.value = job.agent
    inputs.n_runs.value = String(job.runs_per_task)
    inputs.max_parallel.placeholder = String(job.max_parallel)
  }

  const clearErrors = () => {
    formError.textContent = ''
    for (const slot of form.querySelectorAll('.field-error')) slot.textContent = ''
    for (const input of Object.values(inputs)) input.removeAttribute('aria-invalid')
  }
  const showError = (e: ApiError) => {
    const name = (e.field ?? /^invalid_(.+)$/.exec(e.code)?.[1]) as Field | undefined
    if (name && FIELDS.includes(name)) {
      form.querySelector(`#rerun-err-${name}`)!.textContent = e.message
      inputs[name].setAttribute('aria-invalid', 'true')
      inputs[name].focus()
    } else formError.textContent = e.message
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault()
    if (!source) return
    clearErrors()
    const body: Partial<Record<Field, string>> = {}
    const same: Partial<Record<Field, string>> = {
      model: source.model,
      agent: source.agent,
      n_runs: String(source.runs_per_task),
    }
    for (const name of FIELDS) {
      const value = inputs[name].value.trim()
      if (value !== '' && value !== same[name]) body[name] = value
    }
    submit.disabled = true
    api<JobView>(`/api/jobs/${jobId}/rerun`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }).then(
      (job) => {
        inputs.openrouter_key.value = ''
        navigate(`/jobs/${job.job_id}`)
      },
      (err: unknown) => {
        submit.disabled = false
        showError(err instanceof ApiError ? err : new ApiError(0, 'error', String(err)))
      },
    )
  })
  return { el, update }
}
