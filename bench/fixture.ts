// The benchmark's identity provider and tokens: a local Entra-shaped issuer with a persistent identity (port,
// tenant, client, signing key) and a pool of distinct valid tokens it signed, cached in os.tmpdir() so that only
// the first run pays for minting (about 1 ms of RSA signing per token per core).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { JsonWebKey } from 'node:crypto'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { TestIssuer } from 'fastify-entra-id/testing'
import type { SignJob } from './sign-tokens.js'
import type { BenchServerConfig } from './servers/harness.js'

/** The issuer the servers trust and the tokens the load generator sends. */
export interface BenchFixture {
  readonly issuer: TestIssuer
  /** Distinct valid v2 access tokens (scope `Todo.Read`), in a fixed order. */
  readonly tokens: readonly string[]
  /** The file holding the tokens, one a line (child processes read it). */
  readonly tokenFile: string
  /** The issuer's public signing key. */
  readonly publicJwk: JsonWebKey
  /** How many tokens this run had to mint (0 when the cache had them all). */
  readonly minted: number
  readonly mintSeconds: number
}

// Bump when the token template changes: cached tokens of another format are thrown away.
const FORMAT = 'bench-tokens-3'
const CACHE_DIR = join(tmpdir(), 'fastify-entra-id-bench')
const META_FILE = join(CACHE_DIR, 'issuer.json')
const TOKEN_FILE = join(CACHE_DIR, 'tokens.txt')
const LIFETIME_SECONDS = 7 * 24 * 3600
// Cached tokens are reused while they have at least this long to live.
const MIN_REMAINING_SECONDS = 24 * 3600

interface Meta {
  readonly format: string
  readonly port: number
  readonly tenantId: string
  readonly clientId: string
  readonly keys: JsonWebKey[]
  /** The earliest `exp` of the cached tokens, in seconds. */
  readonly expiresAt: number
}

/**
 * Extra claims that make a token as large as a typical Entra v2 delegated access token (~1.5 KB), shaped like
 * the ones Entra issues (Microsoft identity platform, "Access token claims reference").
 */
const ENTRA_LIKE_CLAIMS: Readonly<Record<string, unknown>> = {
  aio: 'AVQAq/8ZAAAA3vTkS0hQ6Gm7n1nNeHbgS2T0yK7ZbMCrPXkOuLZrJ0vM6xq8t1Q2d7YyAU4UT3vYQ0Hq5lS6pN9cS+2x3kG8bqKVUdXf4e9pQ==',
  amr: ['pwd', 'mfa'],
  family_name: 'Lovelace',
  given_name: 'Ada',
  ipaddr: '203.0.113.42',
  xms_ftd: 'x2Z1YXJ0c2dlcm1hbnl3ZXN0Y2VudHJhbC1kc21z',
  xms_idrel: '1 22'
}

/** Starts the issuer and returns at least `count` distinct tokens, minting (in one child process per core) what the cache lacks. */
export async function openFixture(count: number, log: (line: string) => void): Promise<BenchFixture> {
  await mkdir(CACHE_DIR, { recursive: true })
  const nowSeconds = Math.floor(Date.now() / 1000)
  let meta = await readMeta()
  if (meta !== null && (meta.format !== FORMAT || meta.expiresAt - nowSeconds < MIN_REMAINING_SECONDS)) meta = null

  let issuer: TestIssuer
  let tokens: string[] = []
  if (meta === null) {
    issuer = await startTestIssuer()
  } else {
    try {
      issuer = await startTestIssuer({ port: meta.port, tenantId: meta.tenantId, clientId: meta.clientId, keys: meta.keys })
      tokens = (await readFile(TOKEN_FILE, 'utf8').catch(() => '')).split('\n').filter((t) => t !== '')
    } catch {
      // The cached port is taken: the tokens name the issuer URL (port included) in `iss`, so they are useless.
      log(`port ${meta.port} is busy: minting new tokens`)
      issuer = await startTestIssuer({ tenantId: meta.tenantId, clientId: meta.clientId, keys: meta.keys })
      meta = null
    }
  }
  const keys = issuer.exportKeys() as JsonWebKey[]
  const privateJwk = keys[0]
  if (privateJwk === undefined) throw new Error('bench: the test issuer has no signing key')

  const missing = Math.max(0, count - tokens.length)
  const started = performance.now()
  let expiresAt = meta?.expiresAt ?? nowSeconds + LIFETIME_SECONDS
  if (missing > 0) {
    log(`minting ${missing} tokens (cached in ${CACHE_DIR} for later runs)...`)
    const template = await issuer.mint({ scopes: ['Todo.Read'], expiresIn: LIFETIME_SECONDS, claims: ENTRA_LIKE_CLAIMS })
    tokens.push(...await signInParallel(privateJwk, template, missing))
    expiresAt = Math.min(expiresAt, nowSeconds + LIFETIME_SECONDS)
    await rm(TOKEN_FILE, { force: true })
    await writeFile(TOKEN_FILE, tokens.join('\n') + '\n')
    const next: Meta = { format: FORMAT, port: Number(new URL(issuer.url).port), tenantId: issuer.tenantId, clientId: issuer.clientId, keys, expiresAt }
    await writeFile(META_FILE, JSON.stringify(next))
  }
  const publicJwk = issuer.jwks(2).keys[0] as JsonWebKey
  return {
    issuer,
    tokens: tokens.slice(0, count),
    tokenFile: TOKEN_FILE,
    publicJwk,
    minted: missing,
    mintSeconds: (performance.now() - started) / 1000
  }
}

async function readMeta(): Promise<Meta | null> {
  try {
    return JSON.parse(await readFile(META_FILE, 'utf8')) as Meta
  } catch {
    return null
  }
}

/** Signs `count` variants of `template` (new oid, sub, uti each) in one child process per core. */
async function signInParallel(privateJwk: JsonWebKey, template: string, count: number): Promise<string[]> {
  const [encodedHeader = '', encodedClaims = ''] = template.split('.')
  const claims = JSON.parse(Buffer.from(encodedClaims, 'base64url').toString()) as Record<string, unknown>
  const processes = Math.max(1, availableParallelism())
  const shares = Array.from({ length: processes }, (_, i) => Math.floor(count / processes) + (i < count % processes ? 1 : 0))
  const script = fileURLToPath(new URL('./sign-tokens.ts', import.meta.url))
  const batches = await Promise.all(shares.filter((n) => n > 0).map(async (n, i) => {
    const job: SignJob = { privateJwk, encodedHeader, claims, count: n, outFile: join(CACHE_DIR, `signing-${i}.txt`) }
    await new Promise<void>((resolve, reject) => {
      const child = fork(script, { stdio: 'inherit' })
      child.once('error', reject)
      child.once('exit', (code) => { if (code === 0) resolve(); else reject(new Error(`bench: token signing process exited with ${code}`)) })
      child.send(job)
    })
    const batch = (await readFile(job.outFile, 'utf8')).split('\n')
    await rm(job.outFile, { force: true })
    return batch
  }))
  return batches.flat()
}

/** What every benchmark server is told of the fixture's issuer: its origin, tenant, client ID, v2 issuer and keys. */
export function serverConfigOf(issuer: TestIssuer): BenchServerConfig {
  return {
    authorityHost: issuer.url,
    tenantId: issuer.tenantId,
    clientId: issuer.clientId,
    issuer: issuer.issuer(2),
    jwksUri: `${issuer.url}/${issuer.tenantId}/discovery/v2.0/keys`
  }
}
