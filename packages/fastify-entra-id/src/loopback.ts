const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** True for `localhost`, `127.0.0.0/8` and `[::1]`: the only hosts where `http://` is tolerated. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.has(hostname) || /^127(?:\.\d{1,3}){3}$/.test(hostname) || hostname.endsWith('.localhost')
}
