/**
 * Moves the app to another of its pages without a reload. The router (main.ts) renders the page
 * on `popstate`, as it does for the browser's back and forward, so pages need not know it.
 */
export function navigate(path: string): void {
  history.pushState(null, '', path)
  window.dispatchEvent(new PopStateEvent('popstate'))
}
