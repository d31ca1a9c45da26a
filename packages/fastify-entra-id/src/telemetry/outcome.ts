// Attribute values from errors, from fixed lists only: a code the plugin defines, or a class name.

const CODE = /^[A-Z][A-Z0-9_]{0,63}$/

/**
 * An outcome attribute's value: a refusal's stable code (`ENTRA_TOKEN_EXPIRED`), an event's own outcome
 * (`acquired`), or `error` for anything else (the application's own error from `allowedTenants`, say), so that
 * no message text becomes an attribute.
 */
export function outcomeOf(value: unknown): string {
  if (typeof value === 'string') return CODE.test(value) || /^[a-z][a-z-]{0,31}$/.test(value) ? value : 'error'
  const code = (value as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' && CODE.test(code) ? code : 'error'
}

/** `error.type` as OpenTelemetry defines it: the error's code when it has a stable one, else its class name. */
export function errorTypeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code
  if (typeof code === 'string' && CODE.test(code)) return code
  const name = (error as { name?: unknown } | null | undefined)?.name
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name) ? name : '_OTHER'
}
