// fastify-entra-id with its own telemetry off (`telemetry: false`): started with OpenTelemetry's providers and an
// application metric preloaded, it prices what OpenTelemetry costs an application before the plugin adds to it.
import { serveEntraId } from './entra-id-server.js'

await serveEntraId({ telemetry: false })
