import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { test } from 'node:test'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { tempDir } from '../helpers/app.js'
import { dockerignore, parseDockerfile } from '../helpers/dockerfile.js'
import type { Stage } from '../helpers/dockerfile.js'
import { Child, run, serviceEnv } from '../helpers/process.js'
import { REPO_ROOT } from '../helpers/paths.js'

function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const i of stage.instructions.filter((x) => x.keyword === 'ENV')) {
    for (const pair of i.args) {
      const [name = '', ...value] = pair.split('=')
      env[name] = value.join('=')
    }
  }
  return env
}

/** The context as Docker sends it: the repository's files minus .dockerignore. */
function copyContext(to: string): void {
  const ignored = dockerignore(join(REPO_ROOT, '.dockerignore'))
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      const rel = relative(REPO_ROOT, path)
      if (ignored(rel) || rel === '.git') continue
      if (entry.isDirectory()) walk(path)
      else if (entry.isFile()) { mkdirSync(dirname(join(to, rel)), { recursive: true }); cpSync(path, join(to, rel)) }
    }
  }
  walk(REPO_ROOT)
}

/** Bytes of the files below `path`. */
function sizeOf(path: string): number {
  const stats = statSync(path)
  if (!stats.isDirectory()) return stats.size
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0)
}

/** COPY <sources...> <dest>: a directory's contents go into dest; a dest ending in / receives files by name. */
function copy(sources: readonly string[], dest: string, from: string, workdir: string): void {
  for (const source of sources) {
    const src = join(from, source)
    assert.ok(existsSync(src), `COPY source ${source} exists`)
    const target = dest.endsWith('/') || sources.length > 1 ? join(workdir, dest, statSync(src).isDirectory() ? '' : source.split('/').pop() ?? '') : join(workdir, dest)
    mkdirSync(dirname(target), { recursive: true })
    cpSync(src, target, { recursive: true, verbatimSymlinks: true })
  }
}

test('the Dockerfile, replayed outside Docker, builds an image that serves the API in production', { timeout: 600_000 }, async () => {
  const stages = parseDockerfile(join(REPO_ROOT, 'Dockerfile'))
  const [build, runtime] = stages
  assert.ok(build !== undefined && runtime !== undefined && stages.length === 2, 'two stages: build and runtime')

  // What the image promises, read from the Dockerfile itself.
  assert.match(runtime.image, /^node:24(?:\.\d+)*-/, 'a current Node.js LTS base')
  assert.equal(build.image, runtime.image)
  const runtimeEnv = envOf(runtime)
  assert.equal(runtimeEnv.NODE_ENV, 'production')
  assert.equal(runtimeEnv.PORT, '8080')
  const user = runtime.instructions.filter((i) => i.keyword === 'USER').pop()
  assert.ok(user !== undefined && !['root', '0'].includes(user.args[0] ?? ''), 'runs as a non-root user')
  assert.deepEqual(runtime.instructions.find((i) => i.keyword === 'EXPOSE')?.args, ['8080'])
  const healthcheck = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')
  const cmd = runtime.instructions.find((i) => i.keyword === 'CMD')
  assert.ok(healthcheck !== undefined && cmd !== undefined)
  assert.equal(runtime.instructions.some((i) => i.keyword === 'RUN'), false, 'the runtime stage only copies')
  // The slim image has no compiler: the build stage installs one before `npm ci`, for better-sqlite3 wherever no
  // prebuilt binary can be downloaded.
  const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args[0] ?? '')
  const toolchain = runs.findIndex((r) => /apt-get install\b.*\bpython3\b/.test(r) && /\bmake\b/.test(r) && /\bg\+\+/.test(r))
  assert.ok(toolchain >= 0 && toolchain < runs.findIndex((r) => r.startsWith('npm ci')), 'python3, make and g++ are installed before npm ci')

  const work = tempDir('todo-docker-')
  const issuer = await startTestIssuer()
  let server: Child | undefined
  try {
    const context = join(work.path, 'context')
    copyContext(context)
    assert.equal(existsSync(join(context, 'node_modules')), false)
    assert.equal(existsSync(join(context, 'packages/fastify-entra-id/dist')), false)

    // Stage "build": WORKDIR maps to a directory of ours; each RUN runs there, as `sh -c` would.
    const buildDir = join(work.path, 'build')
    mkdirSync(buildDir)
    let workdir = buildDir
    const buildEnv = { ...serviceEnv(), ...envOf(build), npm_config_prefer_offline: 'true' }
    for (const i of build.instructions) {
      if (i.keyword === 'WORKDIR') { workdir = join(buildDir, relative('/app', i.args[0] ?? '/app')); mkdirSync(workdir, { recursive: true }) }
      if (i.keyword === 'COPY') copy(i.args.slice(0, -1), i.args[i.args.length - 1] ?? '.', context, workdir)
      if (i.keyword === 'RUN') {
        const command = i.args[0] ?? ''
        // Debian's packages go into the image, not onto this machine: the replay checks that the tools they
        // bring are here, and `npm ci` below then compiles better-sqlite3 with them (no prebuilt binary can be
        // downloaded here), which is what the image's build stage needs them for.
        if (command.startsWith('apt-get')) {
          for (const tool of ['python3', 'make', 'g++']) await run('sh', ['-c', `command -v ${tool}`], { cwd: workdir })
          continue
        }
        await run('sh', ['-c', command], { cwd: workdir, env: buildEnv })
      }
    }

    // Stage "runtime": only what it copies from the build stage.
    const runtimeDir = join(work.path, 'runtime')
    workdir = runtimeDir
    for (const i of runtime.instructions) {
      if (i.keyword === 'WORKDIR') { workdir = join(runtimeDir, relative('/app', i.args[0] ?? '/app')); mkdirSync(workdir, { recursive: true }) }
      if (i.keyword === 'COPY') {
        assert.equal(i.flags.from, 'build', 'the runtime stage copies from the build stage only')
        copy(i.args.slice(0, -1).map((s) => relative('/app', s)), i.args[i.args.length - 1] ?? '.', buildDir, workdir)
      }
    }
    // Nothing may reach back into the build stage (a link would): delete it.
    rmSync(buildDir, { recursive: true, force: true })
    const modules = join(runtimeDir, 'node_modules')
    // Not @types/node: OpenTelemetry's instrumentations list @types packages (and so @types/node) as run-time
    // dependencies of their own.
    for (const dev of ['typescript', 'tsx', 'eslint', 'pino-pretty', '@types/better-sqlite3', '@fastify/jwt']) {
      assert.equal(existsSync(join(modules, dev)), false, `no development dependency ${dev}`)
    }
    for (const prod of ['fastify', 'better-sqlite3', 'kysely', 'pg', 'jose', 'fastify-entra-id/dist/index.js']) {
      assert.ok(existsSync(join(modules, prod)), `production dependency ${prod}`)
    }
    // better-sqlite3 as it runs: its addon, without the SQLite sources or the compiler's intermediates.
    const sqlite = join(modules, 'better-sqlite3')
    assert.ok(existsSync(join(sqlite, 'build', 'Release', 'better_sqlite3.node')), 'the compiled addon')
    for (const leftover of ['deps', 'src', 'build/Release/obj', 'build/Release/obj.target', 'build/Release/sqlite3.a']) {
      assert.equal(existsSync(join(sqlite, leftover)), false, `no ${leftover} in the runtime image`)
    }
    assert.ok(sizeOf(sqlite) < 5 * 1024 * 1024, `better-sqlite3 takes ${sizeOf(sqlite)} bytes in the runtime image`)

    // docker run: the image's ENV (its /app paths mapped here), and the Entra configuration of the test issuer.
    const env = {
      ...serviceEnv(),
      ...Object.fromEntries(Object.entries(runtimeEnv).map(([k, v]) => [k, v.startsWith('/app') ? join(runtimeDir, relative('/app', v)) : v])),
      PORT: '0',
      HOST: '127.0.0.1',
      // No load balancer to drain for: stop at once.
      SHUTDOWN_DRAIN_MS: '0',
      AZURE_TENANT_ID: issuer.tenantId,
      AZURE_CLIENT_ID: issuer.clientId,
      AZURE_AUTHORITY_HOST: issuer.url
    }
    const [command = '', ...args] = cmd.args
    server = new Child(command === 'node' ? process.execPath : command, args, { cwd: workdir, env })
    const [, base = ''] = await server.waitFor(/"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/)

    const port = new URL(base).port
    const [hcCommand = '', ...hcArgs] = healthcheck.args
    await run(hcCommand === 'node' ? process.execPath : hcCommand, hcArgs, { cwd: workdir, env: { ...env, PORT: port } })

    const ready = await fetch(`${base}/health/ready`)
    assert.equal(ready.status, 200)
    const write = await issuer.mint({ scopes: ['Todo.Read', 'Todo.Write'] })
    const created = await fetch(`${base}/api/todos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${write}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'From the container' })
    })
    assert.equal(created.status, 201)
    const list = await fetch(`${base}/api/todos`, { headers: { authorization: `Bearer ${write}` } })
    assert.deepEqual((await list.json() as { items: { title: string }[] }).items.map((t) => t.title), ['From the container'])
    assert.equal((await fetch(`${base}/api/todos`)).status, 401)
    assert.ok(existsSync(join(runtimeDir, 'data', 'todos.sqlite')), 'SQLite under DATA_DIR')
    assert.equal(await server.stop('SIGTERM'), 0)
  } finally {
    await server?.stop('SIGKILL')
    await issuer.close()
    work.remove()
  }
})
