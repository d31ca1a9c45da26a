const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** True for `localhost`, `127.0.0.0/8` and `[::1]`: the only hosts where `http://` is tolerated. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.has(hostname) || /^127(?:\.\d{1,3}){3}$/.test(hostname) || hostname.endsWith('.localhost')
}

/**
 * `value` as a URL when it is an absolute `https` URL (`http` only for a loopback host) without credentials,
 * fragment, quotes, backslashes or white space (it may end up in a header); else `undefined`. Callers say which
 * option was wrong: this module throws nothing, so the claims challenge in core/errors can use it too.
 */
export function httpsUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string' || /["\\\s#]/.test(value)) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.username !== '' || url.password !== '') return undefined
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)) ? url : undefined
}
