/**
 * fastify-entra-id/testing: a local Entra-shaped OpenID issuer for testing protected APIs without Entra ID.
 *
 * @packageDocumentation
 */
export { TestIssuer, startTestIssuer } from './test-issuer.js'
export { TEST_BLUEPRINT_APP_ID, TEST_CLIENT_APP_ID } from './options.js'
export type { B2cMintOptions, BehaviourOptions, EndpointKind, IdTokenOptions, IssuerBehaviour, IssuerRequest, MintOptions, TestB2cOptions, TestIssuerOptions } from './options.js'
export { GRAPH_APP_ID } from '../util/microsoft-graph.js'
export { TestTokenEndpoint, startTestTokenEndpoint } from './test-token-endpoint.js'
export type { TestTokenEndpointOptions, TokenEndpointBehaviour, TokenEndpointRequest } from './test-token-endpoint.js'
export { TestGraph, startTestGraph } from './test-graph.js'
export type { TestGraphBehaviour } from './test-graph.js'
export { selfSignedCertificate } from './tls.js'
