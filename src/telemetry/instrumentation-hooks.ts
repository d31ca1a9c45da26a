import { register } from 'node:module'
import { createAddHookMessageChannel } from 'import-in-the-middle'

/**
 * Registers OpenTelemetry's ES module loader hook (import-in-the-middle), limited to the modules the enabled
 * instrumentations ask for, and returns a function that resolves once the loader knows all of them.
 *
 * Why: an ES module's imports are bindings the instrumentations cannot patch after the fact. The plugin's
 * on-behalf-of client imports `request` from `node:https`, and without the hook its calls to Entra would not be
 * traced (CommonJS modules such as `pg` and msal-node are patched through `require` either way). The message
 * channel keeps the hook from wrapping every module of the program, as it would by default.
 *
 * Call before the instrumentations are enabled; await the returned function before importing the application.
 */
export function registerInstrumentationHooks(): () => Promise<void> {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel()
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, registerOptions)
  return waitForAllMessagesAcknowledged
}
