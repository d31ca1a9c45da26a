import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

// The plugin's layers, as its folders show them: a folder may import its own files and folders of a lower rank,
// never a higher or an equal one, so imports run one way (transport -> verification -> authorization -> the
// Fastify adapter) and a cycle between folders cannot form. `index.ts`, the root entry, may import anything.
const RANKS: Readonly<Record<string, number>> = {
  util: 0,
  'core/errors': 1,
  testing: 1,
  log: 1,
  'core/diagnostics': 2,
  'core/transport': 3,
  // Outbound requests (proxy, CA certificates, a caller's fetch): what discovery, keys and downstream calls send with.
  'core/network': 3,
  'core/token-cache': 3,
  'core/options': 4,
  'core/identity': 5,
  'core/keys': 5,
  'core/verification': 6,
  'core/authorization': 7,
  metadata: 7,
  // The framework-free entry, core/index.ts: above everything it gathers, below what builds on Fastify.
  core: 8,
  // OpenTelemetry from the core's channels: framework-free, for the Fastify adapter and any other.
  telemetry: 8,
  // The MCP SDK's token verifier over the core: framework-free, beside the Fastify adapter.
  mcp: 9,
  fastify: 9,
  openapi: 10,
  downstream: 10
}

// What runs without Fastify: everything but the adapter and the subpaths built on it. The MCP SDK's verifier, a
// node:http server or another framework's adapter use these without Fastify installed.
const FRAMEWORK_FREE = ['util', 'core', 'metadata', 'log', 'testing', 'telemetry', 'mcp']
const FRAMEWORK = /^(fastify|fastify-plugin|@fastify\/.*|@azure\/msal-node)$/
// The MCP SDK, an optional peer: loaded by the mcp/ subpaths only, so no other entry needs it installed.
const MCP_SDK = /^@modelcontextprotocol\//

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

interface SourceFile {
  readonly path: string
  readonly folder: string
  /** Package-relative targets of its relative imports (type imports included), and its bare specifiers. */
  readonly imports: readonly string[]
  readonly packages: readonly string[]
}

function sources(dir: string = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

// Every `import ... from`, `export ... from` and `import '...'`, `type` or not: a type import is a dependency too.
const SPECIFIER = /^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?\s*['"]([^'"]+)['"]/gm

function parse(path: string): SourceFile {
  const text = readFileSync(path, 'utf8')
  const imports: string[] = []
  const packages: string[] = []
  for (const [, specifier] of text.matchAll(SPECIFIER)) {
    if (specifier === undefined) continue
    if (specifier.startsWith('.')) imports.push(relative(SRC, resolve(dirname(path), specifier)).replace(/\.js$/, '.ts'))
    else packages.push(specifier)
  }
  const file = relative(SRC, path)
  return { path: file, folder: folderOf(file), imports, packages }
}

/** The layer a file belongs to: `core/<job>` under core/, else its top folder; `.` for the root entry. */
function folderOf(file: string): string {
  const parts = file.split('/')
  if (parts.length === 1) return '.'
  return parts[0] === 'core' && parts.length > 2 ? `core/${parts[1] ?? ''}` : parts[0] ?? '.'
}

const files = sources().map(parse)

describe('the plugin\'s layers', () => {
  it('every folder has a rank, and every file sits in a folder (the root entry aside)', () => {
    for (const file of files) {
      if (file.folder === '.') assert.equal(file.path, 'index.ts', `${file.path}: only the root entry sits at the top of src/`)
      else assert.ok(RANKS[file.folder] !== undefined, `${file.path}: its folder ${file.folder} has no rank in this test`)
    }
  })

  it('imports only its own folder or lower ranks', () => {
    const breaches: string[] = []
    for (const file of files) {
      if (file.folder === '.') continue
      const rank = RANKS[file.folder] ?? -1
      for (const target of file.imports) {
        const folder = folderOf(target)
        if (folder !== file.folder && !((RANKS[folder] ?? Infinity) < rank)) breaches.push(`${file.path} -> ${target}`)
      }
    }
    assert.deepEqual(breaches, [])
  })

  it('has no import cycle, type imports included', () => {
    const graph = new Map(files.map((f) => [f.path, f.imports.filter((t) => t !== f.path)]))
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (node: string, trail: string[]): void => {
      if (state.get(node) === 'done') return
      if (state.get(node) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(' -> '))
        return
      }
      state.set(node, 'open')
      for (const next of graph.get(node) ?? []) visit(next, [...trail, node])
      state.set(node, 'done')
    }
    for (const node of graph.keys()) visit(node, [])
    assert.deepEqual(cycles, [])
  })

  it('imports neither Fastify nor msal-node outside the adapter, openapi/ and downstream/', () => {
    const found = files
      .filter((f) => FRAMEWORK_FREE.some((top) => f.path.startsWith(`${top}/`)))
      .flatMap((f) => f.packages.filter((p) => FRAMEWORK.test(p)).map((p) => `${f.path} imports ${p}`))
    assert.deepEqual(found, [])
  })

  it('imports the MCP SDK in mcp/ only', () => {
    const found = files
      .filter((f) => f.folder !== 'mcp')
      .flatMap((f) => f.packages.filter((p) => MCP_SDK.test(p)).map((p) => `${f.path} imports ${p}`))
    assert.deepEqual(found, [])
    assert.ok(files.some((f) => f.folder === 'mcp' && f.packages.some((p) => MCP_SDK.test(p))), 'the check sees mcp/ import it')
  })

  it('reads every import this test should see (a check of the parser itself)', () => {
    const plugin = files.find((f) => f.path === 'fastify/plugin.ts')
    assert.ok(plugin?.packages.includes('fastify') && plugin.packages.includes('fastify-plugin'), 'type and value imports of packages')
    assert.ok(plugin?.imports.includes('fastify/decorator.ts') === true, 'an `import type` of a sibling')
    assert.ok(files.length > 40, `${files.length} source files`)
  })
})
