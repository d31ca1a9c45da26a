import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

// Every name each entry point exports, types included, as a user's editor lists them. A name added or removed
// is a decision about the public surface: make it here, with the CHANGELOG. The root carries what a Fastify
// application needs (the plugin, the guards, the accessor, the errors it catches or throws) and stays small.
const SURFACE: Readonly<Record<string, readonly string[]>> = {
  '.': ['AuthContextOptions', 'CallerRequirement', 'ClaimGuardOptions', 'EntraAuthError', 'EntraAuthErrorCode', 'EntraConfigError',
    'EntraHook', 'EntraIdDecorator', 'EntraIdPluginOptions', 'EntraIdentity', 'EntraUsageError', 'InsufficientScopeError',
    'Requirement', 'default', 'fastifyEntraId', 'identityOf', 'requireAuthContext', 'requireByCallerType', 'requireClaim',
    'requireClaimCheck', 'requireGroups', 'requireMember', 'requireRoles', 'requireScopes', 'requireScopesOrRoles'],
  './core': ['AccessDeniedCode', 'AccessDeniedError', 'B2cOptions', 'BearerErrorCode', 'BearerSource', 'DiscoveryError',
    'CallerType', 'DiscoveryErrorCode', 'DiscoveryErrorOptions', 'DiscoveryOption', 'DownstreamUnavailableError', 'EntraAccessTokenClaims',
    'EntraAgent', 'EntraAuthError', 'EntraAuthErrorCode', 'EntraAuthErrorOptions', 'EntraConfigError', 'EntraIdOptions', 'EntraIdentity',
    'EntraTokenVerifier', 'EntraUsageError', 'EntraUsageErrorCode', 'InsufficientClaimsError', 'InsufficientClaimsErrorOptions',
    'InsufficientScopeError', 'InvalidRequestError', 'InvalidTokenCode', 'InvalidTokenError', 'CHANNELS', 'KeySetEvent', 'VerificationMessage', 'DiscoveryEvent', 'TokenCacheEvictionEvent', 'RefusalEvent', 'DownstreamEvent', 'TelemetryOptions', 'EntraFacets',
    'KeySetFetchError', 'KeysUnavailableError', 'LoadAttempt', 'LoadSuccess', 'MissingTokenError', 'NetworkOptions', 'OutboundFetch', 'ProtectedResourceOptions',
    'ProviderError', 'RefusalDetails', 'RevocationCheck', 'RevocationCheckError', 'RevocationFacts', 'RevocationOptions', 'SigningKeysOptions', 'TenantLookupError', 'TenantPolicy', 'TenantPolicyCacheOptions', 'TokenCacheOptions',
    'TokenCacheStats', 'TokenVersion', 'UnavailableCode', 'bearerChallenge', 'bearerTokenFromHeader', 'canHandleClaimsChallenges', 'readBearerToken',
    'CertificateBindingCode', 'CertificateBindingMode', 'CertificateBindingOptions', 'ForwardedCertificateFormat', 'boundCertificateThumbprint', 'certificateThumbprint', 'checkCertificateBinding', 'decodeForwardedCertificate'],
  './testing': ['B2cMintOptions', 'BehaviourOptions', 'EndpointKind', 'GRAPH_APP_ID', 'IdTokenOptions', 'IssuerBehaviour',
    'IssuerRequest', 'MintOptions', 'TEST_BLUEPRINT_APP_ID', 'TEST_CLIENT_APP_ID', 'TestB2cOptions', 'TestGraph', 'TestGraphBehaviour', 'TestIssuer',
    'TestIssuerOptions', 'TestTokenEndpoint', 'TestTokenEndpointOptions', 'TokenEndpointBehaviour', 'TokenEndpointRequest',
    'selfSignedCertificate', 'startTestGraph', 'startTestIssuer', 'startTestTokenEndpoint'],
  './transport': ['BearerSource', 'bearerTokenFromHeader', 'readBearerToken'],
  './log': ['SerializableRequest', 'UnmatchedRequest', 'authorizationRedactPaths', 'redactUnmatchedUrl', 'redactUrl',
    'redactedQueryParams', 'requestSerializer'],
  './openapi': ['AccessPath', 'EntraIdOpenApiOptions', 'GuardDescription', 'OpenApiBearerOptions', 'OpenApiOAuth2Options',
    'describeGuard', 'withEntraIdSecurity'],
  './downstream': ['DownstreamCredential', 'DownstreamFetchInit', 'DownstreamOptions', 'DownstreamToken', 'EntraIdDownstream',
    'certificateCredentialFromPem', 'claimsOfChallenge', 'default', 'fastifyEntraIdDownstream'],
  './mcp': ['AuthInfoLike', 'EntraAuthInfo', 'EntraMcpVerifier', 'EntraMcpVerifierOptions', 'entraIdentityOf', 'entraTokenVerifier'],
  './mcp/v1': ['AuthInfoLike', 'EntraAuthInfo', 'EntraMcpVerifier', 'EntraMcpVerifierOptions', 'entraIdentityOf', 'entraTokenVerifier']
}

const PACKAGE = new URL('../../', import.meta.url)
const manifest = JSON.parse(readFileSync(new URL('package.json', PACKAGE), 'utf8')) as { exports: Record<string, string | { types?: string }> }

/** The source file behind an export's declaration file: ./dist/core/index.d.ts is src/core/index.ts. */
function sourceOf(entry: string): string {
  const target = manifest.exports[entry]
  const types = typeof target === 'string' ? undefined : target?.types
  assert.ok(types !== undefined, `the package exports ${entry} with types`)
  return fileURLToPath(new URL(types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'), PACKAGE))
}

describe('the public surface', () => {
  const entries = Object.keys(manifest.exports).filter((entry) => entry !== './package.json')
  const files = Object.fromEntries(entries.map((entry) => [entry, sourceOf(entry)]))
  const program = ts.createProgram(Object.values(files), {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true, noEmit: true
  })
  const checker = program.getTypeChecker()
  const namesOf = (entry: string): string[] => {
    const file = program.getSourceFile(files[entry] ?? '')
    const module = file === undefined ? undefined : checker.getSymbolAtLocation(file)
    assert.ok(module !== undefined, `${entry} is a module`)
    return checker.getExportsOfModule(module).map((symbol) => symbol.name).sort()
  }

  it('has exactly the entry points it documents', () => {
    assert.deepEqual(entries.sort(), Object.keys(SURFACE).sort())
  })

  for (const [entry, expected] of Object.entries(SURFACE)) {
    it(`${entry} exports exactly its ${expected.length} names`, () => {
      assert.deepEqual(namesOf(entry), [...expected].sort())
    })
  }

  it('keeps the root to about 25 names, and ships no deprecated alias', () => {
    assert.ok((SURFACE['.'] ?? []).length <= 25, 'the root entry is what a Fastify application needs, no more')
    for (const entry of entries) {
      const text = readFileSync(files[entry] ?? '', 'utf8')
      assert.ok(!text.includes('@deprecated'), `${entry} ships no deprecated alias (the package was never released)`)
    }
  })
})
