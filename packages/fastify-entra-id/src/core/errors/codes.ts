// The stable codes of the refusals: what callers and applications match on, never the message text.

/** RFC 6750 §3.1 error codes, and Microsoft's `insufficient_claims` (a claims challenge). */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'insufficient_claims'

/** Stable codes of {@link EntraAuthError}; match on these, never on message text. */
export type EntraAuthErrorCode =
  | 'ENTRA_TOKEN_MISSING'
  | 'ENTRA_INVALID_REQUEST'
  | 'ENTRA_TOKEN_MALFORMED'
  | 'ENTRA_TOKEN_EXPIRED'
  | 'ENTRA_TOKEN_NOT_YET_VALID'
  | 'ENTRA_TOKEN_INVALID_SIGNATURE'
  | 'ENTRA_TOKEN_UNSUPPORTED_ALGORITHM'
  | 'ENTRA_TOKEN_UNTRUSTED_KEY'
  | 'ENTRA_TOKEN_UNKNOWN_KEY'
  | 'ENTRA_TOKEN_INVALID_ISSUER'
  | 'ENTRA_TOKEN_INVALID_AUDIENCE'
  | 'ENTRA_TOKEN_TENANT_NOT_ALLOWED'
  | 'ENTRA_TOKEN_VERSION_MISMATCH'
  | 'ENTRA_TOKEN_NOT_ACCESS_TOKEN'
  | 'ENTRA_TOKEN_INVALID_CLAIMS'
  | 'ENTRA_TOKEN_FOR_GRAPH'
  | 'ENTRA_TOKEN_ID_TOKEN'
  | CertificateBindingCode
  | 'ENTRA_INSUFFICIENT_SCOPE'
  | 'ENTRA_INSUFFICIENT_CLAIMS'
  | AccessDeniedCode
  | UnavailableCode
  | 'ENTRA_TOKEN_POLICY_NOT_ALLOWED'
  | 'ENTRA_TOKEN_REVOKED'

/** Codes of {@link AccessDeniedError}: a valid token refused by a rule other than scopes and app roles. */
export type AccessDeniedCode =
  | 'ENTRA_AUTH_CONTEXT_REQUIRED'
  | 'ENTRA_CLAIM_REQUIRED'
  | 'ENTRA_GROUPS_OVERAGE'
  | 'ENTRA_GUEST_NOT_ALLOWED'
  | 'ENTRA_CONSENT_REQUIRED'
  | 'ENTRA_USER_REQUIRED'
  | 'ENTRA_AGENT_NOT_ALLOWED'
  | 'ENTRA_AGENT_BLUEPRINT_REQUIRED'

/** Codes of the refusals of a certificate-bound token (RFC 8705) by the connection's client certificate. */
export type CertificateBindingCode =
  | 'ENTRA_TOKEN_CERTIFICATE_MISSING'
  | 'ENTRA_TOKEN_CERTIFICATE_MISMATCH'
  | 'ENTRA_TOKEN_NOT_CERTIFICATE_BOUND'

/** Codes of the 503 answers: something the answer depends on is unavailable now, not the caller's fault. */
export type UnavailableCode =
  'ENTRA_KEYS_UNAVAILABLE' | 'ENTRA_DOWNSTREAM_UNAVAILABLE' | 'ENTRA_TENANT_LOOKUP_FAILED' | 'ENTRA_REVOCATION_CHECK_FAILED'

/** Codes of {@link InvalidTokenError}. */
export type InvalidTokenCode = Exclude<EntraAuthErrorCode,
  'ENTRA_TOKEN_MISSING' | 'ENTRA_INVALID_REQUEST' | 'ENTRA_INSUFFICIENT_SCOPE' | 'ENTRA_INSUFFICIENT_CLAIMS' |
  AccessDeniedCode | UnavailableCode>
