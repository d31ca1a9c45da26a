/** Codes of {@link EntraUsageError}. */
export type EntraUsageErrorCode = 'ENTRA_PLUGIN_MISSING' | 'ENTRA_NOT_AUTHENTICATED' | 'ENTRA_DOWNSTREAM_REJECTED'

/**
 * 500: the application uses the package wrongly: a guard in an app without the plugin
 * (`ENTRA_PLUGIN_MISSING`), or `requireAuth` on a route that neither authenticates nor guards
 * (`ENTRA_NOT_AUTHENTICATED`), or Entra refusing the API's own request for a downstream token for a reason no caller
 * can fix (`ENTRA_DOWNSTREAM_REJECTED`: a wrong or expired client credential, an unknown scope; Entra's answer is its
 * `cause`). A bug in the application or its registration, not the caller's fault: no challenge, and a stack.
 */
export class EntraUsageError extends Error {
  override readonly name = 'EntraUsageError'
  /** Stable machine-readable code. */
  readonly code: EntraUsageErrorCode
  /** Always 500. */
  readonly statusCode = 500
  constructor(code: EntraUsageErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
  }
}
