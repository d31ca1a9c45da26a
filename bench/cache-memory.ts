// `node --import tsx bench/cache-memory.ts [--repeats=N] [--passes=N] [--node-flag=FLAG ...]`: the memory target
// of the token cache alone, without the full run. Fresh fastify-entra-id servers, cache on and cache off, taking
// turns, each get the distinct-token scenario's 10,000 tokens cycled `passes` times (the cache fills from the
// second pass); then peak RSS (VmHWM), V8 heap retained after a full GC, and the cache's counters. The target
// (bench/targets.ts): peak RSS with the cache ≤ without + 1.25 × maxBytes. `--node-flag` passes a V8/Node flag to
// both servers (e.g. `--node-flag=--max-semi-space-size=8`), to price what a flag would change.
import { SERVERS } from './catalog.js'
import type { ServerSpec } from './catalog.js'
import { pinCores } from './cores.js'
import { openFixture, serverConfigOf } from './fixture.js'
import { TokenFeed, applyLoad } from './load.js'
import { ServerProcess } from './server-process.js'
import type { BenchServerConfig } from './servers/harness.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const arg = args.find((a) => a.startsWith(`--${name}=`))
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3))
}
const repeats = option('repeats', 3)
const passes = option('passes', 6)
const nodeFlags = args.filter((a) => a.startsWith('--node-flag=')).map((a) => a.slice('--node-flag='.length))
const MAX_BYTES = 16 * 1024 * 1024
const MiB = 1024 * 1024

const fixture = await openFixture(10_000, (line) => { process.stderr.write(`${line}\n`) })
const tokens = fixture.tokens.slice(0, 10_000)
const cores = pinCores()
const { issuer } = fixture
const config: BenchServerConfig = serverConfigOf(issuer)
const spec = (id: string): ServerSpec => SERVERS.find((s) => s.id === id) as ServerSpec

async function run(id: string): Promise<{ peak: number, retained: number, reqPerSec: number, p99: number, entries: number, estimated: number, hitRate: number }> {
  const server = await ServerProcess.start(spec(id), config, { core: cores.serverCore, nodeFlags: ['--expose-gc', ...nodeFlags] })
  try {
    const load = await applyLoad(server.port, new TokenFeed(tokens), { connections: 50, amount: passes * tokens.length })
    if (load.non2xx !== 0 || load.errors !== 0) throw new Error(`bench: ${id}: ${load.non2xx} non-2xx, ${load.errors} errors`)
    const after = await server.usage(true)
    const stats = after.tokenCache
    const lookups = stats === null ? 0 : stats.hits + stats.misses
    return {
      peak: after.peakRssBytes / MiB,
      retained: after.heapUsedBytes / MiB,
      reqPerSec: load.reqPerSec,
      p99: load.p99Ms,
      entries: stats?.entries ?? 0,
      estimated: (stats?.estimatedBytes ?? 0) / MiB,
      hitRate: lookups === 0 ? 0 : (stats?.hits ?? 0) / lookups
    }
  } finally {
    await server.stop()
  }
}

console.log(`node ${process.version}, ${passes} passes of ${tokens.length} distinct tokens, flags: ${nodeFlags.join(' ') || '(none)'}`)
console.log('| repeat | server | peak RSS MiB | retained heap MiB | entries | estimated MiB | hit rate | req/s | p99 ms |')
console.log('|---|---|---|---|---|---|---|---|---|')
try {
  for (let r = 0; r < repeats; r++) {
    const results: Record<string, Awaited<ReturnType<typeof run>>> = {}
    // Alternate which goes first, so a drift in the machine's load hits both.
    const order = r % 2 === 0 ? ['fastify-entra-id', 'fastify-entra-id-nocache'] : ['fastify-entra-id-nocache', 'fastify-entra-id']
    for (const id of order) {
      const m = await run(id)
      results[id] = m
      console.log(`| ${r + 1} | ${id} | ${m.peak.toFixed(1)} | ${m.retained.toFixed(1)} | ${m.entries} | ${m.estimated.toFixed(1)} | ${(m.hitRate * 100).toFixed(1)}% | ${m.reqPerSec.toFixed(0)} | ${m.p99} |`)
    }
    const on = results['fastify-entra-id']
    const off = results['fastify-entra-id-nocache']
    if (on !== undefined && off !== undefined) {
      const allowance = off.peak + 1.25 * MAX_BYTES / MiB
      console.log(`| ${r + 1} | on − off | ${(on.peak - off.peak).toFixed(1)} (allowance ${(1.25 * MAX_BYTES / MiB).toFixed(0)}: ${on.peak <= allowance ? 'met' : 'NOT met'}) | ${(on.retained - off.retained).toFixed(1)} | | | | | |`)
    }
  }
} finally {
  await issuer.close()
}
