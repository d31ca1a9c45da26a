/**
 * The RFC 6750 `WWW-Authenticate` challenge, rendered at the HTTP edge (the Fastify adapter, or your own server)
 * from what an error says is wrong. The verifier never builds one.
 *
 * @packageDocumentation
 */

/** The default `realm` of every challenge when the plugin is given none. */
export const DEFAULT_REALM = 'api'

/**
 * Builds an RFC 6750 §3 challenge: `Bearer realm="...", error="...", ...`. RFC 6750 allows no `"` or `\` in
 * `error`, `error_description` and `scope` values (and realm is validated at registration), so any such
 * character, or one outside printable ASCII, is replaced rather than escaped.
 */
export function bearerChallenge(realm: string, params: Readonly<Record<string, string | undefined>> = {}): string {
  let challenge = `Bearer realm="${challengeSafe(realm)}"`
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) challenge += `, ${name}="${challengeSafe(value)}"`
  }
  return challenge
}

/**
 * `value` as a quoted challenge parameter may carry it: `"` becomes `'`, `\` and anything outside printable ASCII a
 * space.
 */
export function challengeSafe(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, (c) => (c === '"' ? "'" : ' '))
}
