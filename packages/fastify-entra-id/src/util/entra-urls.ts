// The parts of Entra's authority URLs (`{authorityHost}/{tenant}/...`) that several modules write.

/** The tenants of an authority URL that stand for any tenant: their documents carry the `{tenantid}` template. */
export const MULTI_TENANT: ReadonlySet<string> = new Set(['organizations', 'common'])

/** What a multi-tenant discovery document (and Entra's keys) write in place of the tenant ID in an issuer. */
export const TENANT_TEMPLATE = '{tenantid}'

/** The issuer for tenant `tid`: `issuer` with its {@link TENANT_TEMPLATE} filled in, if it has one. */
export function fillTenant(issuer: string, tid: string): string {
  return issuer.includes(TENANT_TEMPLATE) ? issuer.replace(TENANT_TEMPLATE, tid) : issuer
}

/** Entra's v2 OAuth 2.0 endpoint `name` for `tenant`: `{authorityHost}/{tenant}/oauth2/v2.0/{name}`. */
export function authorityEndpoint(authorityHost: string, tenant: string, name: 'authorize' | 'token' | 'logout'): string {
  return `${authorityHost}/${tenant}/oauth2/v2.0/${name}`
}
