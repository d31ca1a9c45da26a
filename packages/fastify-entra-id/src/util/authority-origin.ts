import { EntraConfigError } from './config-error.js'
import { isLoopbackHost } from './https-url.js'

/**
 * The `authorityHost` option as an origin (default `https://login.microsoftonline.com`): an absolute `https://`
 * URL without path, query or credentials (`http://` only for loopback hosts).
 *
 * @throws {@link EntraConfigError} naming `authorityHost`.
 */
export function authorityOrigin(value: string | undefined): string {
  if (value === undefined) return 'https://login.microsoftonline.com'
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new EntraConfigError('authorityHost', 'must be an absolute URL such as https://login.microsoftonline.com')
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || url.pathname !== '/') {
    throw new EntraConfigError('authorityHost', 'must be an origin (scheme, host and optional port) with no path, query or credentials')
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new EntraConfigError('authorityHost', 'must use https:// (http:// is allowed only for loopback hosts)')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new EntraConfigError('authorityHost', 'must use https://')
  }
  return url.origin
}
