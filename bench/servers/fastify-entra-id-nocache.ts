// The subject with its verified-token cache off: every request pays for a full verification (signature, header,
// claims), which is what the floor target measures; beside the cache-on server it shows what the cache
// saves and what it costs in memory.
import { serveEntraId } from './entra-id-server.js'

await serveEntraId({ tokenCache: false })
