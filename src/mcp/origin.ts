/**
 * The `Origin` check of the MCP endpoint. The Streamable HTTP transport requires servers to validate `Origin`
 * (MCP specification 2025-11-25, "Transports", security warning): a web page the user visits could otherwise make
 * the browser call a server on the user's machine or network, the DNS rebinding attack. A request without
 * `Origin` does not come from a web page's script (browsers send it on every cross-origin POST and on
 * same-origin ones too), so non-browser MCP clients pass.
 */

/**
 * `text` as an origin in ASCII serialization (`https://example.com`, the default port dropped, host in lower
 * case), or `null` when it is no URL or has an opaque origin (`null`, `file:`, `data:`).
 */
export function serializedOrigin(text: string): string | null {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return null
  }
  return url.origin === 'null' ? null : url.origin
}

/**
 * The allow-list of `MCP_ALLOWED_ORIGINS` (each value already checked to be a scheme and host without path).
 * Throws a `TypeError` naming the value that is no origin.
 */
export function allowedOrigins(values: readonly string[]): ReadonlySet<string> {
  const origins = new Set<string>()
  for (const value of values) {
    const origin = serializedOrigin(value)
    if (origin === null) throw new TypeError(`"${value}" is not an origin`)
    origins.add(origin)
  }
  return origins
}

/**
 * The origins of a server listening on loopback port `port`, as a browser on the same machine names them: the
 * development mode's own pages (Swagger UI, the MCP Inspector pointed at it) may call it.
 */
export function loopbackOrigins(port: number): string[] {
  return [`http://localhost:${String(port)}`, `http://127.0.0.1:${String(port)}`, `http://[::1]:${String(port)}`]
}

/**
 * Whether a request whose `Origin` header is `header` may use the endpoint: no header passes; otherwise its
 * origin must be in `allowed`. Several `Origin` values, or one that is no origin, are refused.
 */
export function originAllowed(header: string | string[] | undefined, allowed: ReadonlySet<string>): boolean {
  if (header === undefined) return true
  if (Array.isArray(header)) return false
  const origin = serializedOrigin(header)
  return origin !== null && allowed.has(origin)
}
