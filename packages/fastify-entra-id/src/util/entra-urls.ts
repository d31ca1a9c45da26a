// Entra's endpoint URLs, built in one place.

/** The v2 authorization endpoint of the caller's tenant, where a claims challenge sends the user. */
export function authorizeEndpoint(authorityHost: string, tenantId: string): string {
  return `${authorityHost}/${tenantId}/oauth2/v2.0/authorize`
}
