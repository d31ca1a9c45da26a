// The parts of Entra's authority URLs (`{authorityHost}/{tenant}/...`) that several modules write.

/** The tenants of an authority URL that stand for any tenant: their documents carry the `{tenantid}` template. */
export const MULTI_TENANT: ReadonlySet<string> = new Set(['organizations', 'common'])
