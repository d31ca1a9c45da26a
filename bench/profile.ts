// `npm run bench:profile [-- <server id>] [-- --same]`: a CPU profile (node --cpu-prof) of one server under the
// distinct-token load (or the same token with --same), and its top functions by self time over the last 8 s.
// Writes bench/results/profiles/<server>-<scenario>.cpuprofile (open it in Chrome DevTools or speedscope).
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { SERVERS } from './catalog.js'
import { pinCores } from './cores.js'
import { openFixture, serverConfigOf } from './fixture.js'
import { TokenFeed, applyLoad } from './load.js'
import { startOtlpReceiver } from './otlp-receiver.js'
import { ServerProcess } from './server-process.js'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string, readonly url: string, readonly lineNumber: number }
  readonly children?: readonly number[]
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

const args = process.argv.slice(2)
const same = args.includes('--same')
const id = args.find((a) => !a.startsWith('--')) ?? 'fastify-entra-id'
const spec = SERVERS.find((s) => s.id === id)
if (spec === undefined) throw new Error(`bench:profile: unknown server ${id}; one of ${SERVERS.map((s) => s.id).join(', ')}`)
// Warm-up, then the window the table covers (the profile's last SECONDS: the server stops right after the load).
const WARMUP_SECONDS = 2
const SECONDS = 8
const dir = fileURLToPath(new URL('./results/profiles/', import.meta.url))
const scratch = `${dir}tmp-${process.pid}/`
await mkdir(scratch, { recursive: true })

const fixture = await openFixture(10_000, (line) => process.stderr.write(`${line}\n`))
const cores = pinCores()
const { issuer } = fixture
// Where the telemetry-on servers export (the others ignore it).
const otlp = await startOtlpReceiver()
try {
  const config = { ...serverConfigOf(issuer), otlpEndpoint: otlp.url }
  const server = await ServerProcess.start(spec, config, { core: cores.serverCore, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${scratch}`] })
  const feed = new TokenFeed(same ? fixture.tokens.slice(0, 1) : fixture.tokens)
  await applyLoad(server.port, feed, { connections: 50, durationSeconds: WARMUP_SECONDS })
  const result = await applyLoad(server.port, feed, { connections: 50, durationSeconds: SECONDS })
  await server.stop()
  process.stderr.write(`${spec.id}: ${result.reqPerSec.toFixed(0)} req/s, ${result.non2xx} non-2xx, ${result.errors} errors\n`)

  const [file] = await readdir(scratch)
  if (file === undefined) throw new Error('bench:profile: the server wrote no profile')
  const target = `${dir}${spec.id}-${same ? 'same-token' : 'distinct-tokens'}.cpuprofile`
  await rename(`${scratch}${file}`, target)
  const profile = JSON.parse(await readFile(target, 'utf8')) as CpuProfile
  process.stdout.write(`${topFunctions(profile, 30)}\nprofile: ${target}\n`)
} finally {
  await rm(scratch, { recursive: true, force: true })
  await otlp.close()
  await issuer.close()
}

/** The `count` functions with most self time, as a Markdown table. */
function topFunctions(profile: CpuProfile, count: number): string {
  // Only the samples of the measured window: start-up (module loading) and warm-up are left out.
  const end = profile.timeDeltas.reduce((a, b) => a + b, 0)
  const byNode = new Map<number, number>()
  let at = 0
  profile.samples.forEach((nodeId, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (at >= end - SECONDS * 1e6) byNode.set(nodeId, (byNode.get(nodeId) ?? 0) + delta)
  })
  const total = [...byNode.values()].reduce((a, b) => a + b, 0)
  const byFunction = new Map<string, number>()
  for (const node of profile.nodes) {
    const self = byNode.get(node.id) ?? 0
    if (self === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    const where = url === '' ? '' : ` ${url.replace(/^file:\/\/.*?node_modules\//, '').replace(/^file:\/\/.*?\/packages\//, 'packages/')}:${lineNumber + 1}`
    const key = `${functionName === '' ? '(anonymous)' : functionName}${where}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + self)
  }
  const rows = [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)
  return ['| self % | function |', '|---|---|', ...rows.map(([name, micros]) => `| ${(100 * micros / total).toFixed(1)} | \`${name}\` |`)].join('\n')
}
