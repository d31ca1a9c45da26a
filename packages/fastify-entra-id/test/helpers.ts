import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { fastifyEntraId } from '../src/index.js'
import type { EntraIdPluginOptions } from '../src/index.js'
import { startTestIssuer } from '../src/testing/index.js'
import { KEY_SET_CHANNEL } from '../src/core/index.js'
import type { KeySetEvent } from '../src/core/index.js'
import type { TestIssuer, TestIssuerOptions } from '../src/testing/index.js'

/** Options of {@link buildApp}: plugin options on top of the issuer's defaults. */
export type AppOptions = Partial<EntraIdPluginOptions> & { fastify?: FastifyServerOptions }

/**
 * A Fastify app with the plugin pointed at `issuer`, and two routes: `/me` (authenticated, echoes the identity)
 * and `/public`.
 */
export async function buildApp(issuer: TestIssuer, options: AppOptions = {}): Promise<FastifyInstance> {
  const { fastify: fastifyOptions, ...pluginOptions } = options
  const app = Fastify(fastifyOptions ?? {})
  await app.register(fastifyEntraId, {
    tenantId: issuer.tenantId,
    clientId: issuer.clientId,
    authorityHost: issuer.url,
    ...pluginOptions
  })
  app.get('/me', { onRequest: app.entraId.authenticate }, (request) => {
    const auth = request.auth
    if (auth === null) throw new Error('authenticate let an unauthenticated request through')
    return {
      tenantId: auth.tenantId,
      objectId: auth.objectId,
      subject: auth.subject,
      clientAppId: auth.clientAppId,
      username: auth.username,
      name: auth.name,
      scopes: [...auth.scopes],
      roles: [...auth.roles],
      isAppOnly: auth.isAppOnly,
      callerType: auth.callerType,
      tokenVersion: auth.tokenVersion,
      expiresAt: auth.expiresAt.toISOString()
    }
  })
  app.get('/public', () => ({ ok: true }))
  return app
}

/** A Fastify app with the plugin pointed at `issuer` (its tenant, client ID and URL, then `options`), and no routes. */
export async function entraApp(issuer: TestIssuer, options: Partial<EntraIdPluginOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, ...options })
  return app
}

/** Starts an issuer, runs `fn`, and closes the issuer whatever happens. */
export async function withIssuer<T>(fn: (issuer: TestIssuer) => Promise<T>, options: TestIssuerOptions = {}): Promise<T> {
  const issuer = await startTestIssuer(options)
  try {
    return await fn(issuer)
  } finally {
    await issuer.close()
  }
}

/** `GET path` with `Authorization: Bearer <token>`. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` }
}

/** The `{ statusCode, code, challenge }` of a response, for one-line assertions. */
export function outcome(response: { statusCode: number, headers: Record<string, unknown>, json: () => unknown }): { status: number, code: unknown, challenge: unknown } {
  const body = response.json() as { code?: unknown }
  return { status: response.statusCode, code: body.code, challenge: response.headers['www-authenticate'] }
}

/**
 * Wakes waiters when something they wait for may have happened: the code under test calls {@link notify} from
 * its own event (a listener, a log line, a diagnostics message), and {@link until} re-checks only then. No
 * polling, no sleeping; a wait that is never satisfied fails after `timeoutMs` instead of hanging the run.
 */
export class Signal {
  readonly #waiters = new Set<() => void>()

  /** Re-checks every waiting predicate. */
  notify(): void {
    for (const wake of [...this.#waiters]) wake()
  }

  /** Resolves as soon as `predicate` holds (at once, or at a later {@link notify}). */
  until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    if (predicate()) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(wake)
        reject(new Error(`condition not reached within ${timeoutMs} ms`))
      }, timeoutMs)
      const wake = (): void => {
        if (!predicate()) return
        clearTimeout(timer)
        this.#waiters.delete(wake)
        resolve()
      }
      this.#waiters.add(wake)
    })
  }
}

/**
 * The next key-set fetch published on the diagnostics channel that `matches`: how a test knows a background
 * refresh finished, without polling for its effects.
 */
export function nextKeySetEvent(matches: (event: KeySetEvent) => boolean = () => true, timeoutMs = 5000): Promise<KeySetEvent> {
  return new Promise<KeySetEvent>((resolve, reject) => {
    const listener = (message: unknown): void => {
      const event = message as KeySetEvent
      if (!matches(event)) return
      done()
      resolve(event)
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no matching key-set event within ${timeoutMs} ms`))
    }, timeoutMs)
    const done = (): void => {
      clearTimeout(timer)
      unsubscribe(KEY_SET_CHANNEL, listener)
    }
    subscribe(KEY_SET_CHANNEL, listener)
  })
}

/** A pino destination that keeps every line; `written` is notified on each write, for waits on a log line. */
export function logSink(): { stream: Writable, written: Signal, text: () => string, lines: () => Record<string, unknown>[] } {
  const chunks: string[] = []
  const written = new Signal()
  const stream = new Writable({ write(chunk: Buffer, _encoding, callback) { chunks.push(chunk.toString()); callback(); written.notify() } })
  const text = (): string => chunks.join('')
  return { stream, written, text, lines: () => text().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) }
}
