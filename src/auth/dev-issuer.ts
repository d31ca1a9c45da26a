import { createHash, randomUUID } from 'node:crypto'
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { MintOptions, TestIssuer } from 'fastify-entra-id/testing'

type PrivateJwk = ReturnType<TestIssuer['exportKeys']>[number]

/**
 * What development mode keeps under `DATA_DIR` so tokens survive a restart: the local issuer's signing keys, its
 * tenant and client IDs, the default user and app, and the origin that names the issuer in `iss`. Written once,
 * when development mode first runs with this `DATA_DIR`, and never rewritten: every service and every
 * `npm run token` sharing the directory then agrees on the issuer, whatever port each issuer listens on.
 */
export interface DevIssuerState {
  readonly tenantId: string
  readonly clientId: string
  readonly userObjectId: string
  /** The object ID of the development app's service principal, for app-only tokens (`npm run token -- --app`). */
  readonly appObjectId: string
  readonly keys: readonly PrivateJwk[]
  /** The origin in the tokens' `iss`, such as `http://127.0.0.1:8081`. */
  readonly issuerBaseUrl: string
}

/** A GUID-shaped ID derived from `text`: the same text, the same ID. */
function stableGuid(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/** The file of {@link DevIssuerState} under `DATA_DIR`. It holds private keys: mode 0600, never committed. */
export function devIssuerFile(dataDir: string): string {
  return join(dataDir, 'dev-issuer.json')
}

/** Reads the saved state, or `null` when development mode has never run with this `DATA_DIR`. */
export function readDevIssuerState(dataDir: string): DevIssuerState | null {
  let text: string
  try {
    text = readFileSync(devIssuerFile(dataDir), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  // `url` is what files written before `issuerBaseUrl` existed call it.
  const state = JSON.parse(text) as Partial<DevIssuerState> & { url?: unknown }
  const issuerBaseUrl = state.issuerBaseUrl ?? state.url
  if (typeof state.tenantId !== 'string' || typeof state.clientId !== 'string' || typeof state.userObjectId !== 'string' ||
      !Array.isArray(state.keys) || state.keys.length === 0 || typeof issuerBaseUrl !== 'string') {
    throw new Error(`${devIssuerFile(dataDir)} is not a development issuer state; delete it to start afresh`)
  }
  return {
    tenantId: state.tenantId,
    clientId: state.clientId,
    userObjectId: state.userObjectId,
    // Files from before app-only tokens had their own ID: derive a stable one.
    appObjectId: typeof state.appObjectId === 'string' ? state.appObjectId : stableGuid(`${state.clientId}:app`),
    keys: state.keys,
    issuerBaseUrl
  }
}

/**
 * The saved state, or a new one (new keys and IDs) saved now. Loses no race: when two processes create it at
 * once, the first file written wins and both use it.
 */
export async function loadOrCreateDevIssuerState(dataDir: string, issuerBaseUrl: string): Promise<DevIssuerState> {
  const saved = readDevIssuerState(dataDir)
  if (saved !== null) return saved
  const keys = await startTestIssuer({ port: 0 }).then(async (issuer) => {
    const exported = issuer.exportKeys()
    await issuer.close()
    return exported
  })
  const state: DevIssuerState = { tenantId: randomUUID(), clientId: randomUUID(), userObjectId: randomUUID(), appObjectId: randomUUID(), keys, issuerBaseUrl }
  return createDevIssuerState(dataDir, state) ? state : (readDevIssuerState(dataDir) ?? state)
}

/**
 * Saves a new state with owner-only permissions, unless one exists: written whole under a temporary name, then
 * linked into place, which fails when another process got there first. Returns whether this call created it.
 */
function createDevIssuerState(dataDir: string, state: DevIssuerState): boolean {
  mkdirSync(dataDir, { recursive: true })
  const file = devIssuerFile(dataDir)
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  chmodSync(temporary, 0o600)
  try {
    linkSync(temporary, file)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    unlinkSync(temporary)
  }
}

/** The development issuer: the plugin's test issuer on loopback, with the keys and IDs kept under `DATA_DIR`. */
export interface DevIssuer {
  /** The authority host where it listens, `http://127.0.0.1:<port>`. */
  readonly url: string
  /** The origin in its tokens' `iss`: the same for every service sharing the `DATA_DIR`, whatever its port. */
  readonly issuerBaseUrl: string
  readonly tenantId: string
  readonly clientId: string
  /** The object ID of the default development user, so every minted token is the same person unless told otherwise. */
  readonly userObjectId: string
  /** True when the configured port was busy and another one was taken (tokens still verify: `iss` does not change). */
  readonly portChanged: boolean
  /** Mints a token for the default user (override with `objectId`). */
  mint(options?: MintOptions): Promise<string>
  close(): Promise<void>
}

/**
 * Starts the development issuer on `127.0.0.1:port`, or on the next free port of the nine after it (`port` 0:
 * any free port), creating and saving its keys on first use. A busy port changes where it listens, never the
 * saved state, so a second service that starts and then fails (its own port taken) leaves the first one's tokens
 * valid.
 */
export async function startDevIssuer(options: { dataDir: string, port: number }): Promise<DevIssuer> {
  const state = await loadOrCreateDevIssuerState(options.dataDir, `http://127.0.0.1:${options.port === 0 ? 8081 : options.port}`)
  let issuer: TestIssuer | undefined
  const last = options.port === 0 ? 0 : Math.min(options.port + 9, 65535)
  for (let port = options.port; issuer === undefined; port++) {
    try {
      issuer = await startTestIssuer({ tenantId: state.tenantId, clientId: state.clientId, port, host: '127.0.0.1', keys: state.keys, issuerBaseUrl: state.issuerBaseUrl })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port >= last) throw error
    }
  }
  const started = issuer
  return {
    url: started.url,
    issuerBaseUrl: state.issuerBaseUrl,
    tenantId: started.tenantId,
    clientId: started.clientId,
    userObjectId: state.userObjectId,
    portChanged: options.port !== 0 && started.url !== `http://127.0.0.1:${options.port}`,
    mint: (mintOptions: MintOptions = {}) => started.mint({ objectId: state.userObjectId, name: 'Dev User', username: 'dev.user@contoso.example', ...mintOptions }),
    close: () => started.close()
  }
}
