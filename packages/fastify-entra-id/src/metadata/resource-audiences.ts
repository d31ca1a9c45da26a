// The one Entra rule a protected resource's configuration can break without any request showing it: a client that
// follows RFC 9728 and RFC 8707 (an MCP client must) sends the metadata's `resource` to Entra as the `resource`
// parameter, and Entra's v2 endpoint issues a token only when that value is, byte for byte, an Application ID URI
// (identifierUris) of the application whose scopes are requested. Otherwise it answers AADSTS9010010 ("The
// resource parameter provided in the request doesn't match with the requested scopes") and no token reaches the
// API. The API's accepted audiences are where its configuration names its Application ID URIs (a v1 token's `aud`
// is the URI asked for), so a resource must be one of them; checked at registration, not met by a user.

import { EntraConfigError } from '../util/config-error.js'
import type { ProtectedResource } from './protected-resource.js'

/**
 * Checks that each protected resource can be asked for from Entra: its identifier is one of `audiences` (the
 * API's Application ID URIs, as the `audience` option lists them) and does not end with `/` (Entra refuses such
 * an Application ID URI), and each of its `scopes` written under a URI is under one of `audiences`. Exact
 * comparison, as Entra's and the verifier's.
 *
 * @throws {@link EntraConfigError} naming the resource's option (`protectedResources[i].resource` or `.scopes`)
 * and the fix, in one line.
 */
export function checkResourcesAreAudiences(resources: readonly ProtectedResource[], audiences: ReadonlySet<string>): void {
  for (const { resource: id, option, scopes } of resources) {
    if (id.endsWith('/')) {
      throw new EntraConfigError(`${option}.resource`,
        `must not end with "/": Entra refuses an Application ID URI that does, so clients sending "${id}" as the resource get AADSTS9010010; use "${id.replace(/\/+$/, '')}" (and list it in "audience")`)
    }
    if (!audiences.has(id)) {
      throw new EntraConfigError(`${option}.resource`,
        `("${id}") is not one of the accepted audiences, so Entra refuses clients asking for it (AADSTS9010010): add it to "audience" and as an Application ID URI (identifierUris) of the API's app registration, or name a resource that is one`)
    }
    for (const scope of scopes) {
      const slash = scope.lastIndexOf('/')
      // A bare scope (`Todo.Read`) names no resource; `<client ID>/Todo.Read` or a URI prefix names one.
      if (slash <= 0) continue
      const prefix = scope.slice(0, slash)
      if (!audiences.has(prefix)) {
        throw new EntraConfigError(`${option}.scopes`,
          `has "${scope}", under "${prefix}", which is not one of the accepted audiences: Entra refuses the resource "${id}" with another application's scope (AADSTS9010010); write it under the resource ("${id}/${scope.slice(slash + 1)}")`)
      }
    }
  }
}
