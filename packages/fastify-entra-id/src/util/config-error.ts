// The one error every option check throws, below everything else so that the checks in util/ can throw it too.

/** Thrown at registration (or by a guard factory) when an option or argument is invalid; names the option. */
export class EntraConfigError extends TypeError {
  override readonly name = 'EntraConfigError'
  /** Always `ENTRA_CONFIG_INVALID`. */
  readonly code = 'ENTRA_CONFIG_INVALID'
  /** The option or argument at fault, e.g. `"tenantId"`. */
  readonly option: string
  constructor(option: string, message: string) {
    super(`fastify-entra-id: "${option}" ${message}`)
    this.option = option
  }
}
