import { EntraConfigError } from '../../util/config-error.js'

/**
 * What the plugin records with OpenTelemetry, when the application has it: `@opentelemetry/api` installed, and a
 * MeterProvider or TracerProvider registered globally before the plugin registers (the Azure Monitor distro's
 * `useAzureMonitor()` or the Node SDK's `start()`, called first thing at start-up, do). Metric and span attributes
 * are of bounded cardinality by default: no token, `kid`, user, tenant or issuer value.
 */
export interface TelemetryOptions {
  /**
   * Put the caller's object ID (`oid`) on the request's span as `enduser.id`. It is personal data: turn it on
   * only where the telemetry store may hold it. Default `false`.
   */
  readonly enduserId?: boolean | undefined
  /**
   * Add the caller's tenant ID (`tid`) to the verification metrics as `entra_id.tenant.id`, for a multi-tenant API
   * that must see each tenant's traffic. Each tenant is a series of its own, so at most 1,000 tenants are named;
   * later ones are counted as `other`. Default `false`.
   */
  readonly tenantAttribute?: boolean | undefined
}

/** The options, checked; `null` when telemetry is off. */
export interface ResolvedTelemetryOptions {
  readonly enduserId: boolean
  readonly tenantAttribute: boolean
}

/** Checks the plugin's `telemetry` option: `true` (the default), `false`, or {@link TelemetryOptions}. */
export function resolveTelemetryOptions(option: boolean | TelemetryOptions | undefined): ResolvedTelemetryOptions | null {
  if (option === false) return null
  if (option === undefined || option === true) return { enduserId: false, tenantAttribute: false }
  if (option === null || typeof option !== 'object') throw new EntraConfigError('telemetry', 'must be true, false or an object ({ enduserId, tenantAttribute })')
  return { enduserId: flag(option.enduserId, 'telemetry.enduserId'), tenantAttribute: flag(option.tenantAttribute, 'telemetry.tenantAttribute') }
}

function flag(value: unknown, name: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw new EntraConfigError(name, 'must be true or false')
  return value
}
