/**
 * The test kit both test suites share (the plugin's and the sample's): waits on events, not on time; log sinks;
 * request helpers. Private to this repository: what an application's own tests need is in
 * `fastify-entra-id/testing`.
 *
 * @packageDocumentation
 */
export { Signal } from './signal.js'
export { logSink } from './log-sink.js'
export type { LogSink } from './log-sink.js'
export { bearer, outcome } from './http.js'
