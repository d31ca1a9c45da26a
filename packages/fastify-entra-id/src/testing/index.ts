/**
 * fastify-entra-id/testing: a local Entra-shaped OpenID issuer for testing protected APIs without Entra ID.
 *
 * @packageDocumentation
 */
export { TestIssuer, startTestIssuer } from './test-issuer.js'
export { TEST_CLIENT_APP_ID } from './options.js'
export type { B2cMintOptions, BehaviourOptions, EndpointKind, IdTokenOptions, IssuerBehaviour, IssuerRequest, MintOptions, TestB2cOptions, TestIssuerOptions } from './options.js'
export { GRAPH_APP_ID, TestGraph, TestTokenEndpoint, startTestGraph, startTestTokenEndpoint } from './downstream.js'
export type { TestGraphBehaviour, TestTokenEndpointOptions, TokenEndpointBehaviour, TokenEndpointRequest } from './downstream.js'
export { selfSignedCertificate } from './tls.js'
