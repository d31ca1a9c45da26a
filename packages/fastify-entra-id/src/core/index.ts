/**
 * `fastify-entra-id/core`: Entra ID access-token verification without Fastify. Read the bearer token off a
 * request ({@link readBearerToken}, {@link bearerTokenFromHeader}), verify it and get the caller
 * ({@link EntraTokenVerifier}), and answer a refusal with its status and RFC 6750 challenge (an
 * {@link EntraAuthError}'s `statusCode` and `headers`, or {@link bearerChallenge}). Nothing under this entry
 * imports Fastify: a `node:http` server, another framework's adapter or an MCP server's token verifier use it
 * as it is, and the Fastify plugin is a thin adapter over it.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { EntraAuthError, EntraTokenVerifier, readBearerToken } from 'fastify-entra-id/core'
 *
 * const verifier = EntraTokenVerifier.create({ tenantId: process.env.AZURE_TENANT_ID ?? '', clientId: process.env.AZURE_CLIENT_ID ?? '' })
 * createServer((req, res) => {
 *   verifier.verify(readBearerToken(req)).then(
 *     (caller) => res.end(JSON.stringify({ oid: caller.objectId })),
 *     (error: unknown) => {
 *       const refusal = error instanceof EntraAuthError ? error : undefined
 *       res.writeHead(refusal?.statusCode ?? 500, refusal?.headers ?? {}).end()
 *     })
 * }).listen(8080)
 * ```
 *
 * @packageDocumentation
 */
export { EntraTokenVerifier } from './verification/verifier.js'
export type { B2cOptions, EntraIdOptions, LoadAttempt, LoadSuccess, TenantPolicy, TenantPolicyCacheOptions, TokenVersion } from './options/entra-id-options.js'
export type { SigningKeysOptions } from './options/signing-keys-options.js'
export type { TokenCacheOptions, TokenCacheStats } from './token-cache/cache-options.js'
export type { CallerType, EntraAccessTokenClaims, EntraIdentity } from './identity/identity.js'
export type { EntraAgent, EntraFacets } from './identity/agent-claims.js'
export { canHandleClaimsChallenges } from './identity/client-capabilities.js'
export type { ProtectedResourceOptions } from '../metadata/protected-resource.js'
export { readBearerToken, bearerTokenFromHeader } from './transport/bearer.js'
export type { BearerSource } from './transport/bearer.js'
export { bearerChallenge } from './errors/challenge.js'
export { EntraAuthError } from './errors/auth-error.js'
export type { EntraAuthErrorOptions, RefusalDetails } from './errors/auth-error.js'
export { MissingTokenError, InvalidRequestError, InvalidTokenError, InsufficientScopeError, AccessDeniedError } from './errors/refusals.js'
export { InsufficientClaimsError } from './errors/claims-challenge.js'
export type { InsufficientClaimsErrorOptions } from './errors/claims-challenge.js'
export { KeysUnavailableError, DownstreamUnavailableError, TenantLookupError } from './errors/unavailable.js'
export { RevocationCheckError } from './errors/unavailable.js'
export type { RevocationCheck, RevocationFacts, RevocationOptions } from './options/revocation-options.js'
export { EntraConfigError } from '../util/config-error.js'
export { EntraUsageError } from './errors/usage-error.js'
export type { EntraUsageErrorCode } from './errors/usage-error.js'
export type { AccessDeniedCode, BearerErrorCode, EntraAuthErrorCode, InvalidTokenCode, UnavailableCode } from './errors/codes.js'
export { DiscoveryError } from './keys/discovery.js'
export type { DiscoveryErrorCode, DiscoveryErrorOptions, DiscoveryOption, ProviderError } from './keys/discovery.js'
export { KeySetFetchError } from './keys/key-set.js'
export { CHANNELS } from './diagnostics/channels.js'
export type { TelemetryOptions } from './options/telemetry-options.js'
export type { CertificateBindingOptions } from './options/certificate-binding-options.js'
export type { NetworkOptions, OutboundFetch } from './network/network-options.js'
export type { VerificationMessage } from './verification/tracing.js'
export type { KeySetEvent, DiscoveryEvent, TokenCacheEvictionEvent, RefusalEvent, DownstreamEvent } from './diagnostics/channels.js'
export { boundCertificateThumbprint, certificateThumbprint, checkCertificateBinding } from './verification/certificate-binding.js'
export type { CertificateBindingMode } from './verification/certificate-binding.js'
export { decodeForwardedCertificate } from './transport/forwarded-certificate.js'
export type { ForwardedCertificateFormat } from './transport/forwarded-certificate.js'
export type { CertificateBindingCode } from './errors/codes.js'
