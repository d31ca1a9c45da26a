/**
 * fastify-entra-id/testing: a local Entra-shaped OpenID issuer for testing protected APIs without Entra ID.
 *
 * @packageDocumentation
 */
export { TestIssuer, startTestIssuer, TEST_CLIENT_APP_ID } from './test-issuer.js'
export type { BehaviourOptions, EndpointKind, IssuerBehaviour, IssuerRequest, MintOptions, TestIssuerOptions } from './test-issuer.js'
