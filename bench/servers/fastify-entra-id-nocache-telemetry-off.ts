// fastify-entra-id with its token cache and its own telemetry off: started with OpenTelemetry's providers and an
// application metric preloaded, it prices what OpenTelemetry costs an application that checks a signature on every
// request, before the plugin's telemetry adds to it.
import { serveEntraId } from './entra-id-server.js'

await serveEntraId({ telemetry: false, tokenCache: false })
