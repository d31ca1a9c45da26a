// `node --expose-gc --import tsx bench/entry-cost.ts`: what one token-cache entry really costs, as heap retained
// after a full GC with 10,000 entries of the benchmark's tokens, besides the token strings themselves (which the
// script keeps alive, so they are not counted). With entries kept as off-heap records this is near 0; the figure
// of the old on-heap entries (1,497 bytes per identity) is what HOT_OVERHEAD_BYTES, the hot tier's estimate, uses.
import { openFixture } from './fixture.js'
import { EntraTokenVerifier } from 'fastify-entra-id/core'
const gc = (globalThis as { gc?: () => void }).gc as () => void
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') throw new Error('run with node --expose-gc')
const fixture = await openFixture(10_000, () => {})
const { issuer } = fixture
const tokens = fixture.tokens.map((t) => ` ${t}`.slice(1)) // fresh strings, as from a request
const verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, tokenCache: { maxEntries: 10_000, maxBytes: 2 ** 30 } })
await verifier.hydrate()
for (const t of tokens) await verifier.verify(t)
await new Promise((r) => setTimeout(r, 100))
gc(); gc()
const before = process.memoryUsage().heapUsed
// the tokens themselves stay referenced by `tokens`: count them separately
for (const t of tokens) await verifier.verify(t)
await new Promise((r) => setTimeout(r, 100))
gc(); gc()
const after = process.memoryUsage().heapUsed
const stats = verifier.tokenCacheStats
const perEntry = (after - before) / stats.entries
const sample = tokens[0] ?? ''
const tokenChars = sample.length
const payloadChars = (sample.split('.')[1] ?? '').length
console.log({ entries: stats.entries, estimatedPerEntry: stats.estimatedBytes / stats.entries, retainedPerEntryExcludingToken: perEntry.toFixed(0), tokenChars, payloadChars, overheadBeyondPayload: (perEntry - payloadChars).toFixed(0) })
verifier.close(); await issuer.close()
