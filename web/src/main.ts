/**
 * The dashboard: a small single-page app over the API. Pages are plain functions that render into
 * `#app` and return a cleanup (closing their streams and timers) for when the user leaves.
 */
import { getToken, setToken } from './api.js'
import { navigate } from './navigate.js'
import { comparePage } from './pages/compare.js'
import { jobPage } from './pages/job.js'
import { jobsPage } from './pages/jobs.js'
import { runPage } from './pages/run.js'
import { uploadPage } from './pages/upload.js'

export type Cleanup = () => void
export type Page = (root: HTMLElement, params: Record<string, string>) => Cleanup | void

const ROUTES: [RegExp, Page, string][] = [
  [/^\/$/, jobsPage, 'jobs'],
  [/^\/upload$/, uploadPage, 'upload'],
  [/^\/compare$/, comparePage, 'jobs'],
  [/^\/jobs\/(?<job_id>[0-9a-f-]{36})$/, jobPage, 'jobs'],
  [/^\/jobs\/(?<job_id>[0-9a-f-]{36})\/runs\/(?<run_number>\d+)$/, runPage, 'jobs'],
]

let cleanup: Cleanup | void

function render(): void {
  cleanup?.()
  cleanup = undefined
  const root = document.getElementById('app')!
  root.replaceChildren()
  for (const [pattern, page, nav] of ROUTES) {
    const match = pattern.exec(location.pathname)
    if (!match) continue
    for (const a of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) {
      if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page')
      else a.removeAttribute('aria-current')
    }
    cleanup = page(root, { ...match.groups })
    return
  }
  root.textContent = 'There is no such page.'
}

function setupTheme(): void {
  const saved = localStorage.getItem('harbor-runner-theme')
  if (saved) document.documentElement.dataset.theme = saved
  document.getElementById('theme-toggle')!.addEventListener('click', () => {
    const dark =
      document.documentElement.dataset.theme === 'dark' ||
      (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches)
    const next = dark ? 'light' : 'dark'
    document.documentElement.dataset.theme = next
    localStorage.setItem('harbor-runner-theme', next)
  })
}

function setupToken(): void {
  const dialog = document.getElementById('token-dialog') as HTMLDialogElement
  const input = document.getElementById('token-input') as HTMLInputElement
  const button = document.getElementById('token-button')!
  const label = () => (button.textContent = getToken() ? 'API token ✓' : 'API token')
  label()
  const open = () => {
    input.value = ''
    if (!dialog.open) dialog.showModal()
  }
  button.addEventListener('click', open)
  window.addEventListener('auth-needed', open)
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'save' && input.value.trim()) setToken(input.value.trim())
    if (dialog.returnValue === 'clear') setToken(null)
    input.value = ''
    label()
    if (dialog.returnValue === 'save' || dialog.returnValue === 'clear') render()
  })
}

document.addEventListener('DOMContentLoaded', () => {
  setupTheme()
  setupToken()
  // Links within the app change the page without a reload.
  document.addEventListener('click', (e) => {
    const a = (e.target as Element).closest('a')
    if (!a || a.target || a.hasAttribute('download') || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return
    const url = new URL(a.href)
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return
    e.preventDefault()
    navigate(url.pathname + url.search)
  })
  window.addEventListener('popstate', render)
  render()
})
