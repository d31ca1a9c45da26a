import { randomUUID } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { MintOptions, TestIssuer } from 'fastify-entra-id/testing'

type PrivateJwk = ReturnType<TestIssuer['exportKeys']>[number]

/**
 * What development mode keeps under `DATA_DIR` so tokens survive a restart: the local issuer's signing keys, its
 * tenant and client IDs, the default user, and the URL it last listened on (the `iss` of its tokens).
 */
export interface DevIssuerState {
  readonly tenantId: string
  readonly clientId: string
  readonly userObjectId: string
  readonly keys: readonly PrivateJwk[]
  readonly url: string | null
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
  const state = JSON.parse(text) as Partial<DevIssuerState>
  if (typeof state.tenantId !== 'string' || typeof state.clientId !== 'string' || typeof state.userObjectId !== 'string' ||
      !Array.isArray(state.keys) || state.keys.length === 0) {
    throw new Error(`${devIssuerFile(dataDir)} is not a development issuer state; delete it to start afresh`)
  }
  return { tenantId: state.tenantId, clientId: state.clientId, userObjectId: state.userObjectId, keys: state.keys, url: state.url ?? null }
}

/** Saves the state atomically (write, then rename) with owner-only permissions. */
export function writeDevIssuerState(dataDir: string, state: DevIssuerState): void {
  mkdirSync(dataDir, { recursive: true })
  const file = devIssuerFile(dataDir)
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  chmodSync(temporary, 0o600)
  renameSync(temporary, file)
}

/** The development issuer: the plugin's test issuer on loopback, with the keys and IDs kept under `DATA_DIR`. */
export interface DevIssuer {
  /** The authority host, `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly tenantId: string
  readonly clientId: string
  /** The object ID of the default development user, so every minted token is the same person unless told otherwise. */
  readonly userObjectId: string
  /** True when the configured port was busy and another one was taken (tokens of the old port no longer verify). */
  readonly portChanged: boolean
  /** Mints a token for the default user (override with `objectId`). */
  mint(options?: MintOptions): Promise<string>
  close(): Promise<void>
}

/**
 * Starts the development issuer on `127.0.0.1:port`, or on the next free port of the nine after it (`port` 0:
 * any free port), creating and saving its keys on first use.
 */
export async function startDevIssuer(options: { dataDir: string, port: number }): Promise<DevIssuer> {
  const saved = readDevIssuerState(options.dataDir)
  const base = saved ?? { tenantId: randomUUID(), clientId: randomUUID(), userObjectId: randomUUID(), keys: [], url: null }
  let issuer: TestIssuer | undefined
  const last = options.port === 0 ? 0 : Math.min(options.port + 9, 65535)
  for (let port = options.port; issuer === undefined; port++) {
    try {
      issuer = await startTestIssuer({ tenantId: base.tenantId, clientId: base.clientId, port, host: '127.0.0.1', keys: base.keys })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port >= last) throw error
    }
  }
  const started = issuer
  writeDevIssuerState(options.dataDir, { ...base, keys: started.exportKeys(), url: started.url })
  return {
    url: started.url,
    tenantId: started.tenantId,
    clientId: started.clientId,
    userObjectId: base.userObjectId,
    portChanged: options.port !== 0 && started.url !== `http://127.0.0.1:${options.port}`,
    mint: (mintOptions: MintOptions = {}) => started.mint({ objectId: base.userObjectId, name: 'Dev User', username: 'dev.user@contoso.example', ...mintOptions }),
    close: () => started.close()
  }
}
