import { EntraConfigError } from '../util/config-error.js'

// The downstream plugin's own option checks: msal-node's rules (an https authority, positive numbers), not the verifier's.

export function httpsOrigin(value: unknown): string {
  let url: URL | undefined
  try {
    url = typeof value === 'string' ? new URL(value) : undefined
  } catch {
    url = undefined
  }
  // msal-node accepts https authorities only.
  if (url?.protocol !== 'https:' || url.pathname.replace(/\/+$/, '') !== '' || url.search !== '' || url.hash !== '') {
    throw new EntraConfigError('authorityHost', 'must be an https origin such as https://login.microsoftonline.com (msal-node requires https)')
  }
  return url.origin
}

export function positive(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new EntraConfigError(option, 'must be a positive number')
  return value
}

export function checkScopes(scopes: unknown): void {
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === 'string' && s !== '')) {
    throw new EntraConfigError('scopes', 'must be a non-empty list of scopes, e.g. ["https://graph.microsoft.com/User.Read"]')
  }
}
