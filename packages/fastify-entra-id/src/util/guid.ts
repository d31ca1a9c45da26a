// Entra's tenant and application IDs are GUIDs in their textual form: 8-4-4-4-12 hexadecimal digits, any case.
// One pattern, of which every check here is built.

const GUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

const GUID = new RegExp(`^${GUID_PATTERN}$`, 'i')

/** The first GUID within a string (`exec` it), e.g. the tenant ID in `https://login.microsoftonline.com/{GUID}/v2.0`. */
export const GUID_WITHIN = new RegExp(GUID_PATTERN, 'i')

/** True when `value` is a GUID in Entra's textual form (any case). */
export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value)
}

/** The tenant ID that an issuer's path starts with (`https://{host}/{tenant ID}/...`), as its first group. */
export const TENANT_IN_ISSUER_PATH = new RegExp(`^https?://[^/]+/(${GUID_PATTERN})/`, 'i')
