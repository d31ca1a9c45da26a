/**
 * The package as users get it: packed as maintainers pack it (`npm run pack:plugin` at the root), then a fresh
 * Fastify project that installs the tarball from the npm registry's point of view (its own dependencies, fastify
 * as a peer, npm's default install behaviour), type-checks the README's registration example with its own
 * TypeScript, and runs it against a local issuer from `fastify-entra-id/testing`.
 *
 * Needs the npm registry (not GitHub). Takes 10-90 s, mostly `npm install`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const packageDir = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const isWindows = process.platform === 'win32'

interface RunResult { readonly code: number, readonly stdout: string, readonly stderr: string }

/** Runs a command to completion; never rejects for a non-zero exit (the caller asserts on `code`). */
function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((done) => {
    execFile(command, args, {
      cwd,
      env: childEnv(),
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
      shell: isWindows && command === 'npm'
    }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
      done({ code, stdout, stderr: error !== null && error.killed ? `${stderr}\n(killed after ${timeoutMs} ms)` : stderr })
    })
  })
}

/** The environment without what `npm test` sets for this workspace, so child npm commands see only their own project. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_(package_|lifecycle_|command$|config_local_prefix$|config_call$)/i.test(name) || name === 'INIT_CWD') continue
    env[name] = value
  }
  return env
}

function explain(step: string, result: RunResult): string {
  return `${step} exited with ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`
}

const repositoryRoot = resolve(packageDir, '..', '..')

/**
 * A clone as a new maintainer gets it: the repository's tracked files, as they are in the working tree, with
 * nothing built. Dependencies are the workspace's own (a link to its node_modules), so the clone needs no second
 * `npm ci`. Packing there, the root's `pack:plugin` must build `dist/` by itself, and it never touches the `dist/`
 * that other test files are loading meanwhile.
 */
async function cloneWithoutBuild(into: string): Promise<string> {
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', 'package.json', 'tsconfig.base.json', 'LICENSE', 'packages/fastify-entra-id'], repositoryRoot, 30_000)
  assert.equal(listed.code, 0, explain('git ls-files', listed))
  for (const file of listed.stdout.split('\0').filter((f) => f !== '')) {
    try {
      await cp(join(repositoryRoot, file), join(into, file))
    } catch (error) {
      // A tracked file deleted in the working tree is not part of the clone.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  await symlink(join(repositoryRoot, 'node_modules'), join(into, 'node_modules'), 'dir')
  const clonedPackage = join(into, 'packages', 'fastify-entra-id')
  // The package's own node_modules too, where npm nests what it could not hoist (undici 7, while the root holds
  // another tool's undici 6): the build resolves the versions the package declares.
  const nested = join(repositoryRoot, 'packages', 'fastify-entra-id', 'node_modules')
  if (await stat(nested).then(() => true, () => false)) await symlink(nested, join(clonedPackage, 'node_modules'), 'dir')
  await assert.rejects(stat(join(clonedPackage, 'dist')), 'the clone has no dist/ before packing')
  return clonedPackage
}

/** What `npm pack --json` reports of one tarball. */
interface PackReport {
  readonly filename: string
  readonly name: string
  readonly version: string
  readonly files: readonly { readonly path: string }[]
}

interface PackedManifest {
  readonly name?: string
  readonly scripts?: Record<string, string>
  readonly version?: string
  readonly license?: string
  readonly homepage?: string
  readonly repository?: { readonly url?: string, readonly directory?: string }
  readonly bugs?: { readonly url?: string }
  readonly type?: string
  readonly dependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>
  readonly exports?: Record<string, { readonly types?: string, readonly default?: string } | string>
}

interface HarnessResponse { readonly status: number, readonly challenge: string | null, readonly body: Record<string, unknown> }
interface HarnessResult {
  readonly ready: boolean
  readonly tokens: readonly string[]
  readonly objectId: string
  readonly withToken: HarnessResponse
  readonly withoutToken: HarnessResponse
  readonly withoutScope: HarnessResponse
  readonly tokenInQuery: HarnessResponse
  readonly health: HarnessResponse
}

// Put before the README example: a local Entra-shaped issuer, and the configuration the example reads.
const HARNESS_PREFIX = `import { writeFile as harnessWriteFile } from 'node:fs/promises'
import { startTestIssuer } from 'fastify-entra-id/testing'
const issuer = await startTestIssuer()
process.env.AZURE_TENANT_ID = issuer.tenantId
process.env.AZURE_CLIENT_ID = issuer.clientId
process.env.AZURE_AUTHORITY_HOST = issuer.url
process.env.PORT = '0'
// ---- README example ----
`

// Put after it: real HTTP calls to the listening example (which must name its Fastify instance \`app\`).
const HARNESS_SUFFIX = `
// ---- harness ----
const [address] = app.addresses()
if (address === undefined || typeof address === 'string') throw new Error('the README example does not listen on TCP')
const base = \`http://\${address.family === 'IPv6' ? \`[\${address.address}]\` : address.address}:\${address.port}\`
const objectId = '0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f'
const reader = await issuer.mint({ scopes: ['Todo.Read'], objectId })
const writer = await issuer.mint({ scopes: ['Todo.Write'] })
async function call(path: string, token?: string) {
  const response = await fetch(base + path, token === undefined ? {} : { headers: { authorization: \`Bearer \${token}\` } })
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.json() as unknown }
}
const result = {
  ready: app.entraId.isReady(),
  tokens: [reader, writer],
  objectId,
  withToken: await call('/todos', reader),
  withoutToken: await call('/todos'),
  withoutScope: await call('/todos', writer),
  tokenInQuery: await call('/todos?access_token=' + reader),
  health: await call('/health')
}
await harnessWriteFile(new URL('../result.json', import.meta.url), JSON.stringify(result))
await app.close()
await issuer.close()
`

// The one MCP SDK module each mcp entry loads: the SDK line's own errors, and nothing of the other line.
const MCP_SDK_IMPORTS: Readonly<Record<string, string>> = {
  'dist/mcp/index.js': '@modelcontextprotocol/server',
  'dist/mcp/v1.js': '@modelcontextprotocol/sdk/server/auth/errors.js'
}

/**
 * The scripts npm runs by itself, on install, pack, publish or version (docs.npmjs.com, "scripts": life cycle
 * scripts and operations), with their `pre`/`post` forms. A published manifest carries none of them: npm would
 * warn every user who installs the package ("install-scripts ... not yet covered by allowScripts"), and a build
 * script would run, or fail, in their project. The workspace builds through the root's `prepare` instead.
 */
const LIFECYCLE_SCRIPTS = new Set(['install', 'prepare', 'prepublish', 'prepublishOnly', 'prepack', 'postpack',
  'publish', 'version', 'dependencies'].flatMap((name) => [name, `pre${name}`, `post${name}`]))

const APP_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    // Stricter than most users, so the published types hold up in any project.
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    skipLibCheck: false,
    types: ['node'],
    rootDir: '.',
    outDir: 'out'
  },
  include: ['*.ts']
}

void test('the packed package installs into a fresh Fastify app whose README example type-checks and answers', { timeout: 300_000 }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'fastify-entra-id-pack-'))
  t.after(() => rm(root, { recursive: true, force: true, maxRetries: 3 }))

  // (a) Pack from a clone where nothing was built, through the root's script, which cleans and builds first. A
  // leftover of a module since removed from src/ stands for a stale dist/: it must not be packed.
  const clone = join(root, 'clone')
  const clonedPackage = await cloneWithoutBuild(clone)
  await mkdir(join(clonedPackage, 'dist'))
  await writeFile(join(clonedPackage, 'dist', 'removed-module.js'), 'export {}\n')
  const packDir = join(root, 'pack')
  await mkdir(packDir)
  const pack = await run('npm', ['run', 'pack:plugin', '--', '--json', '--pack-destination', packDir], clone, 120_000)
  assert.equal(pack.code, 0, explain('npm run pack:plugin', pack))
  // The clean and build steps print before the JSON report, which starts on a line of its own.
  const reports = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as PackReport[]
  assert.equal(reports.length, 1, 'npm pack reports one tarball')
  const [packed] = reports
  assert.ok(packed !== undefined)
  const tarballPath = join(packDir, packed.filename)
  assert.equal(packed.name, 'fastify-entra-id')

  // (b) The tarball's file list, as npm reports it.
  const paths = packed.files.map((f) => f.path)
  for (const required of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/testing/index.js', 'dist/testing/index.d.ts']) {
    assert.ok(paths.includes(required), `the tarball contains ${required}`)
  }
  const unexpected = paths.filter((p) => !(p.startsWith('dist/') || ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(p)))
  assert.deepEqual(unexpected, [], 'only dist/, package.json, README.md, CHANGELOG.md and LICENSE are packed (no src/, test/ or sample files)')
  assert.deepEqual(paths.filter((p) => p.endsWith('.tsbuildinfo') || /(^|\/)(src|test)\//.test(p) || /\.test\./.test(p)), [])
  assert.equal(paths.includes('dist/removed-module.js'), false, 'dist/ is built afresh: nothing stale is packed')
  for (const js of paths.filter((p) => p.endsWith('.js'))) {
    assert.ok(paths.includes(js.replace(/\.js$/, '.d.ts')), `${js} has a declaration file`)
  }

  // (c) A fresh Fastify project that installs the tarball as users do: scripts allowed (npm's default, so npm
  // says what it would run) and its warnings printed whatever the caller's npm configuration.
  const appDir = join(root, 'app')
  await mkdir(appDir)
  await writeFile(join(appDir, 'package.json'), JSON.stringify({ name: 'entra-id-pack-check', private: true, type: 'module' }, null, 2))
  const installArgs = ['install', '--no-audit', '--no-fund', '--loglevel=warn', tarballPath, 'fastify@5', 'typescript@~6.0.3', '@types/node@22']
  let install = await run('npm', installArgs, appDir, 240_000)
  // One retry: a registry hiccup is not a finding about the package.
  if (install.code !== 0) install = await run('npm', installArgs, appDir, 240_000)
  assert.equal(install.code, 0, explain('npm install', install))
  assert.doesNotMatch(install.stdout + install.stderr, /install-scripts|fastify-entra-id@[^\s]* \(/,
    `npm install warns of install scripts\n--- stdout ---\n${install.stdout}\n--- stderr ---\n${install.stderr}`)

  // (d) The package as installed from the tarball: manifest, runtime dependencies, peer, and what its code imports.
  const installed = join(appDir, 'node_modules', 'fastify-entra-id')
  const readInstalled = (path: string): Promise<string> => readFile(join(installed, path), 'utf8')
  const manifest = JSON.parse(await readInstalled('package.json')) as PackedManifest
  assert.equal(manifest.name, 'fastify-entra-id')
  assert.equal(manifest.version, packed.version)
  assert.equal(manifest.type, 'module')
  assert.deepEqual(Object.keys(manifest.scripts ?? {}).filter((name) => LIFECYCLE_SCRIPTS.has(name)), [],
    'the published manifest carries no lifecycle script')
  assert.deepEqual(Object.keys(manifest.dependencies ?? {}).sort(), ['fastify-plugin', 'jose', 'undici'])
  assert.ok(manifest.peerDependencies?.fastify !== undefined, 'fastify is a peer dependency')
  assert.equal(manifest.dependencies?.fastify, undefined, 'fastify is not a runtime dependency')
  for (const [entry, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target === 'string') continue
    for (const file of [target.types, target.default]) {
      if (file !== undefined) assert.ok(paths.includes(file.replace(/^\.\//, '')), `export "${entry}" points at ${file}, which is packed`)
    }
  }
  assert.ok(manifest.exports?.['./testing'] !== undefined, 'the package exports ./testing')
  assert.ok(manifest.exports?.['./core'] !== undefined, 'the package exports ./core')
  assert.ok(manifest.exports?.['./downstream'] !== undefined, 'the package exports ./downstream')
  assert.equal(manifest.peerDependenciesMeta?.['@azure/msal-node']?.optional, true, '@azure/msal-node is an optional peer')
  assert.equal(manifest.peerDependenciesMeta?.['@opentelemetry/api']?.optional, true, '@opentelemetry/api is an optional peer')
  for (const sdk of ['@modelcontextprotocol/server', '@modelcontextprotocol/sdk']) {
    assert.equal(manifest.peerDependenciesMeta?.[sdk]?.optional, true, `${sdk} is an optional peer`)
  }
  // What the registry page shows and links to.
  assert.equal(manifest.license, 'MIT')
  assert.match(await readInstalled('LICENSE'), /^MIT License/)
  assert.match(manifest.repository?.url ?? '', /^git\+https:\/\/.+\.git$/)
  assert.equal(manifest.repository?.directory, 'packages/fastify-entra-id')
  assert.match(manifest.homepage ?? '', /^https:\/\//)
  assert.match(manifest.bugs?.url ?? '', /^https:\/\//)
  assert.match(await readInstalled('CHANGELOG.md'), new RegExp(`^## \\[${(manifest.version ?? '').replace(/\./g, '\\.')}\\]`, 'm'), 'the CHANGELOG has an entry for the packed version')
  for (const js of paths.filter((p) => p.endsWith('.js'))) {
    // What the shipped code imports at run time: Node built-ins, its own files and its two dependencies; the
    // optional peer @azure/msal-node, from the fastify-entra-id/downstream subpath only, which alone needs it; the
    // MCP SDK from the two mcp entries only, each its own line's; and the optional peer @opentelemetry/api from
    // telemetry/ only, imported when the application registered a provider (this app installs neither, and answers).
    // TSDoc examples in comments import the package by name: only code counts.
    const code = (await readInstalled(js)).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
    // The framework-free folders need jose alone, whatever the package ships besides; the outbound network path
    // alone imports undici (when a proxy or CA certificates are configured).
    const frameworkFree = /^dist\/(core|util|metadata|log|testing|mcp)\//.test(js)
    const sdk = MCP_SDK_IMPORTS[js]
    const allowed = sdk !== undefined
      ? ['jose', sdk]
      : js === 'dist/core/network/network-options.js'
        ? ['jose', 'undici']
        : frameworkFree
          ? ['jose']
          : js.startsWith('dist/telemetry/') ? ['jose', '@opentelemetry/api'] : js.startsWith('dist/downstream/') ? ['jose', 'fastify-plugin', '@azure/msal-node'] : ['jose', 'fastify-plugin']
    for (const match of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) {
      const specifier = match[1] ?? ''
      assert.ok(specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('node:') ||
        allowed.includes(specifier), `${js} imports only what the package depends on, not "${specifier}"`)
    }
  }

  // The README's example, alone (as users paste it) and wrapped in the harness that runs it.
  const readme = await readFile(join(packageDir, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/^```ts example\r?\n([\s\S]*?)^```\s*$/gm)].map((m) => m[1] ?? '')
  assert.equal(blocks.length, 1, 'the README has exactly one ```ts example block')
  const example = blocks[0] ?? ''
  await writeFile(join(appDir, 'example.ts'), example)
  await writeFile(join(appDir, 'run.ts'), HARNESS_PREFIX + example + HARNESS_SUFFIX)
  await writeFile(join(appDir, 'tsconfig.json'), JSON.stringify(APP_TSCONFIG, null, 2))

  const tsc = await run(process.execPath, [join(appDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', appDir], appDir, 120_000)
  assert.equal(tsc.code, 0, explain('tsc (strict, module nodenext) on the README example', tsc))

  const app = await run(process.execPath, [join(appDir, 'out', 'run.js')], appDir, 60_000)
  assert.equal(app.code, 0, explain('the README example', app))
  const result = JSON.parse(await readFile(join(appDir, 'result.json'), 'utf8')) as HarnessResult

  assert.equal(result.ready, true, 'app.entraId.isReady() once the app listens')
  assert.equal(result.health.status, 200, 'a public route needs no token')
  assert.equal(result.withToken.status, 200, JSON.stringify(result.withToken))
  assert.equal(result.withToken.body.owner, result.objectId, 'the handler sees request.auth from the minted token')
  assert.equal(result.withoutToken.status, 401)
  assert.equal(result.withoutToken.challenge, 'Bearer realm="api"')
  assert.equal(result.withoutToken.body.code, 'ENTRA_TOKEN_MISSING')
  assert.equal(result.withoutScope.status, 403)
  assert.match(result.withoutScope.challenge ?? '', /^Bearer realm="api", error="insufficient_scope", error_description="[^"]+", scope="Todo\.Read"$/)
  assert.equal(result.tokenInQuery.status, 400)
  assert.match(result.tokenInQuery.challenge ?? '', /^Bearer realm="api", error="invalid_request", error_description="[^"]+"$/)

  // The example logs every request (with the README's requestSerializer): no token may appear in its output,
  // not even the one sent in the query string.
  assert.ok(app.stdout.includes('"incoming request"'), 'the example logs requests')
  for (const token of result.tokens) {
    assert.ok(!app.stdout.includes(token) && !app.stderr.includes(token), 'no token appears in the logs')
    const signature = token.split('.')[2] ?? token
    assert.ok(!app.stdout.includes(signature) && !app.stderr.includes(signature), 'no token signature appears in the logs')
  }
})
