/**
 * New job: the task zip (picker or drag and drop), harness, agent (the harness's own list), model
 * (free text with suggestions), the OpenRouter key (sent with the upload, never kept), number of
 * runs, and advanced settings. Errors from the API appear next to the field they concern.
 */
import { api, ApiError, uploadForm } from '../api.js'
import { h } from '../dom.js'
import { navigate } from '../navigate.js'

/** A harness an upload may name, as the API's registry describes it. */
export interface HarnessOption {
  name: string
  label: string
  /** Whether a job's environment means anything to it. */
  environment: boolean
  /** Whether it takes agents and environments by import path. */
  import_paths: boolean
  /** Its agents that run without a model, so without a key. */
  agents_without_model: string[]
}

export interface Catalog {
  harnesses: Partial<Record<string, { agents: string[]; environments: string[] }>>
  harness_options: HarnessOption[]
  /** Agents and environments by `module:Class` that the service allows. */
  import_paths?: string[]
  defaults: { harness: string; agent: Record<string, string>; environment: string; n_runs: number }
  limits: { runs_per_job: number; upload_bytes: number }
  models: string[]
}

function field(name: string, label: string, control: HTMLElement, hint?: string): HTMLElement {
  control.id = `f-${name}`
  control.setAttribute('aria-describedby', `err-${name}${hint ? ` hint-${name}` : ''}`)
  return h(
    'div',
    { class: 'field', 'data-field': name },
    h('label', { for: `f-${name}` }, label),
    control,
    hint ? h('p', { class: 'hint', id: `hint-${name}` }, hint) : null,
    h('p', { class: 'field-error', id: `err-${name}`, role: 'alert' }),
  )
}

export function uploadPage(root: HTMLElement): void {
  const file = h('input', { type: 'file', name: 'file', accept: '.zip,application/zip', required: true })
  const drop = h(
    'div',
    { class: 'drop', tabindex: 0, role: 'button', 'aria-label': 'Choose or drop the task zip' },
    h('strong', {}, 'Drop the task zip here'),
    h('span', { class: 'muted' }, ' or press to choose a file'),
  )
  const chosen = h('p', { class: 'muted', id: 'chosen-file' }, 'No file chosen.')
  // The harnesses come with the catalog; until then (or without it) the upload takes the default.
  const harness = h('select', { name: 'harness' })
  const agents = h('datalist', { id: 'agent-list' })
  const agent = h('input', {
    name: 'agent',
    list: 'agent-list',
    autocomplete: 'off',
    spellcheck: 'false',
  })
  const models = h('datalist', { id: 'model-list' })
  const model = h('input', {
    name: 'model',
    list: 'model-list',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    placeholder: 'anthropic/claude-sonnet-4.5',
  })
  const key = h('input', {
    name: 'openrouter_key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'sk-or-…',
  })
  const nRuns = h('input', { name: 'n_runs', type: 'number', min: 1, value: 10, required: true })
  const environments = h('datalist', { id: 'environment-list' })
  const environment = h('input', {
    name: 'environment',
    list: 'environment-list',
    autocomplete: 'off',
    spellcheck: 'false',
  })
  const maxParallel = h('input', { name: 'max_parallel', type: 'number', min: 1, placeholder: 'all at once' })
  const timeout = h('input', { name: 'timeout_multiplier', type: 'number', min: 0.1, step: 0.1, value: 1 })
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' })
  const formError = h('p', { class: 'form-error', role: 'alert', id: 'form-error' })
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start the job')

  const form = h(
    'form',
    { class: 'upload', novalidate: true },
    h('h1', {}, 'New job'),
    field('file', 'Task (zip of a Harbor or Terminal-Bench task)', h('div', {}, drop, file, chosen)),
    h(
      'div',
      { class: 'row' },
      field('harness', 'Harness', harness),
      field('agent', 'Agent', agent, "The harness's agent name, or an allowed module.path:ClassName."),
    ),
    field('model', 'Model', model),
    field(
      'openrouter_key',
      'OpenRouter key',
      key,
      'Sent with this upload only; not stored in the browser. Not needed for oracle or nop.',
    ),
    field('n_runs', 'Number of runs', nRuns),
    h(
      'details',
      {},
      h('summary', {}, 'Advanced'),
      h(
        'div',
        { class: 'row' },
        field(
          'environment',
          'Environment',
          environment,
          'docker by default; any Harbor environment type or an allowed module:Class.',
        ),
        field('max_parallel', 'Max parallel runs', maxParallel),
        field('timeout_multiplier', 'Timeout multiplier', timeout),
      ),
    ),
    agents,
    models,
    environments,
    formError,
    progress,
    h('div', { class: 'actions' }, submit),
  )
  root.replaceChildren(form)

  let catalog: Catalog | null = null
  const chosenHarness = (): HarnessOption | undefined => catalog?.harness_options.find((o) => o.name === harness.value)
  const fillAgents = () => {
    const option = chosenHarness()
    const offer = catalog?.harnesses[harness.value]
    const imports = option?.import_paths ? (catalog?.import_paths ?? []) : []
    agents.replaceChildren(...[...(offer?.agents ?? []), ...imports].map((a) => h('option', { value: a })))
    const defaults = catalog?.defaults.agent ?? {}
    if (!agent.value || Object.values(defaults).includes(agent.value)) agent.value = defaults[harness.value] ?? ''
    environment.disabled = option ? !option.environment : false
  }
  harness.addEventListener('change', fillAgents)
  api<Catalog>('/api/harnesses').then(
    (c) => {
      catalog = c
      harness.replaceChildren(...c.harness_options.map((o) => h('option', { value: o.name }, o.label)))
      harness.value = c.defaults.harness
      models.replaceChildren(...c.models.map((m) => h('option', { value: m })))
      const offered = [...(c.harnesses.harbor?.environments ?? []), ...(c.import_paths ?? [])]
      environments.replaceChildren(...offered.map((e) => h('option', { value: e })))
      environment.placeholder = c.defaults.environment
      nRuns.max = String(c.limits.runs_per_job)
      fillAgents()
    },
    () => fillAgents(),
  )

  const showFile = () => {
    const f = file.files?.[0]
    chosen.textContent = f ? `${f.name} (${(f.size / 1024).toFixed(1)} KiB)` : 'No file chosen.'
  }
  file.addEventListener('change', showFile)
  drop.addEventListener('click', () => file.click())
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault()
      file.click()
    }
  })
  drop.addEventListener('dragover', (e) => {
    e.preventDefault()
    drop.classList.add('over')
  })
  drop.addEventListener('dragleave', () => drop.classList.remove('over'))
  drop.addEventListener('drop', (e) => {
    e.preventDefault()
    drop.classList.remove('over')
    if (e.dataTransfer?.files.length) {
      file.files = e.dataTransfer.files
      showFile()
    }
  })

  const clearErrors = () => {
    formError.textContent = ''
    for (const el of form.querySelectorAll('.field-error')) el.textContent = ''
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid')
  }
  const showError = (err: unknown) => {
    const e = err instanceof ApiError ? err : new ApiError(0, 'error', String(err))
    const name = e.field ?? fieldOfCode(e.code)
    const slot = name ? form.querySelector<HTMLElement>(`#err-${name}`) : null
    if (slot) {
      slot.textContent = e.message
      form.querySelector(`#f-${name}`)?.setAttribute('aria-invalid', 'true')
      slot.closest('details')?.setAttribute('open', '')
      ;(form.querySelector<HTMLElement>(`#f-${name}`) ?? slot).focus()
    } else {
      formError.textContent = e.message
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault()
    clearErrors()
    const data = new FormData()
    if (file.files?.[0]) data.append('file', file.files[0])
    if (harness.value) data.append('harness', harness.value)
    for (const input of [agent, model, key, nRuns, environment, maxParallel, timeout]) {
      if (!input.disabled && input.value.trim() !== '') data.append(input.name, input.value.trim())
    }
    if (!file.files?.[0]) return showError(new ApiError(400, 'missing_file', 'Choose the task zip first.', 'file'))
    // Whether the agent needs a key is the harness's to say: until its catalog arrives, the API says so.
    const option = chosenHarness()
    if (option && !key.value && !option.agents_without_model.includes(agent.value) && !agent.value.includes(':')) {
      return showError(
        new ApiError(
          400,
          'invalid_openrouter_key',
          `The ${agent.value} agent needs an OpenRouter key.`,
          'openrouter_key',
        ),
      )
    }
    submit.disabled = true
    progress.hidden = false
    uploadForm(data, (f) => (progress.value = f)).then(
      (job: { job_id: string }) => {
        key.value = ''
        navigate(`/jobs/${job.job_id}`)
      },
      (err) => {
        submit.disabled = false
        progress.hidden = true
        showError(err)
      },
    )
  })
}

/** The field an error code is about, when the API did not name one (archive problems are the file's). */
function fieldOfCode(code: string): string | null {
  const m = /^invalid_(.+)$/.exec(code)
  if (
    m &&
    [
      'n_runs',
      'harness',
      'agent',
      'model',
      'openrouter_key',
      'environment',
      'max_parallel',
      'timeout_multiplier',
    ].includes(m[1]!)
  ) {
    return m[1]!
  }
  if (
    code === 'invalid_task' ||
    code.includes('zip') ||
    code.includes('entr') ||
    code.includes('upload') ||
    code.includes('task') ||
    code.includes('archive') ||
    code.includes('path') ||
    code === 'symlink' ||
    code === 'missing_file' ||
    code === 'empty_file'
  ) {
    return 'file'
  }
  return null
}
