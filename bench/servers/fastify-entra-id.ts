// The subject: the route protected by fastify-entra-id, as the sample API uses it.
import { serveEntraId } from './entra-id-server.js'

await serveEntraId({})
