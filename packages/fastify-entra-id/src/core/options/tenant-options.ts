// The options that say whose tokens a multi-tenant API accepts (allowedTenants, a tenant policy and its cache),
// and the B2C policies, checked for resolve-options.ts.

import type { EntraIdOptions, TenantPolicy, TenantPolicyCacheOptions } from './entra-id-options.js'
import { EntraConfigError } from '../../util/config-error.js'
import { isGuid } from '../../util/guid.js'
import { duration, positiveInteger } from '../../util/option-checks.js'

/** An `allowedTenants` function with its cache settings. */
export interface ResolvedTenantPolicy {
  readonly decide: TenantPolicy
  readonly maxEntries: number
  readonly maxAge: number
}

/** The tenants a multi-tenant API accepts. */
export interface ResolvedTenants {
  /** `null` means every tenant (said explicitly with `"*"`), or a single-tenant API, or a {@link tenantPolicy}. */
  readonly allowedTenants: ReadonlySet<string> | null
  /** The `allowedTenants` function with its cache settings, or null. */
  readonly tenantPolicy: ResolvedTenantPolicy | null
}

/**
 * Checks `allowedTenants` and `allowedTenantsCache` against `tenantId`: required for a multi-tenant API, not
 * allowed for a single-tenant one. Throws {@link EntraConfigError} naming the first bad option.
 */
export function resolveAllowedTenants(options: EntraIdOptions, tenantId: string, multiTenant: boolean): ResolvedTenants {
  let allowedTenants: ReadonlySet<string> | null = null
  let tenantPolicy: ResolvedTenantPolicy | null = null
  if (multiTenant) {
    if (options.allowedTenants === undefined) {
      throw new EntraConfigError('allowedTenants',
        `is required when tenantId is "${tenantId}": list the tenant IDs to accept, "*" to accept every tenant, or a function deciding per tenant`)
    }
    if (typeof options.allowedTenants === 'function') {
      tenantPolicy = resolveTenantPolicy(options.allowedTenants, options.allowedTenantsCache)
    } else if (options.allowedTenants !== '*') {
      const tenants: unknown = options.allowedTenants
      if (!Array.isArray(tenants) || tenants.length === 0 || !tenants.every(isGuid)) {
        throw new EntraConfigError('allowedTenants', 'must be "*", a non-empty array of tenant IDs (GUIDs), or a function of the tenant ID')
      }
      allowedTenants = new Set(tenants.map((t) => t.toLowerCase()))
    }
  } else if (options.allowedTenants !== undefined) {
    throw new EntraConfigError('allowedTenants',
      'applies only to multi-tenant APIs (tenantId "organizations" or "common"); a single-tenant API accepts only tenantId')
  }
  if (tenantPolicy === null && options.allowedTenantsCache !== undefined) {
    throw new EntraConfigError('allowedTenantsCache', 'applies only when allowedTenants is a function')
  }
  return { allowedTenants, tenantPolicy }
}

/** B2C policy names: what B2C accepts in a user flow's or custom policy's name, as it appears in the URL path. */
const POLICY = /^[A-Za-z0-9_.-]{1,128}$/

/**
 * B2C's policies, as configured (their case kept for URLs), or null for Entra ID. Throws {@link EntraConfigError}
 * naming the first bad option.
 */
export function resolveB2c(options: EntraIdOptions, multiTenant: boolean): readonly string[] | null {
  const b2c: unknown = options.b2c
  if (b2c === undefined) return null
  if (b2c === null || typeof b2c !== 'object') throw new EntraConfigError('b2c', 'must be an object { policies: [...] }')
  const policies = (b2c as { policies?: unknown }).policies
  if (!Array.isArray(policies) || policies.length === 0 ||
    !policies.every((p: unknown) => typeof p === 'string' && POLICY.test(p))) {
    throw new EntraConfigError('b2c.policies', 'must be a non-empty array of user-flow or policy names such as "B2C_1_signupsignin"')
  }
  const names = policies as string[]
  if (new Set(names.map((p) => p.toLowerCase())).size !== names.length) {
    throw new EntraConfigError('b2c.policies', 'must not name a policy twice (B2C policy names ignore case)')
  }
  if (multiTenant) {
    throw new EntraConfigError('tenantId', 'must be the B2C tenant (contoso.onmicrosoft.com or its GUID) with b2c, not "organizations" or "common"')
  }
  if (options.authorityHost === undefined) {
    throw new EntraConfigError('authorityHost', 'is required with b2c: https://<tenant>.b2clogin.com or the tenant\'s custom domain')
  }
  return Object.freeze([...names])
}

function resolveTenantPolicy(decide: TenantPolicy, cache: TenantPolicyCacheOptions | undefined): ResolvedTenantPolicy {
  if (cache !== undefined && (cache === null || typeof cache !== 'object')) {
    throw new EntraConfigError('allowedTenantsCache', 'must be an object { maxEntries, maxAge }')
  }
  return {
    decide,
    // A null maxEntries has always meant the default here (unlike tokenCache.maxEntries): kept so.
    maxEntries: positiveInteger(cache?.maxEntries ?? undefined, 1000, 'allowedTenantsCache.maxEntries'),
    maxAge: duration(cache?.maxAge, 300_000, 'allowedTenantsCache.maxAge')
  }
}

