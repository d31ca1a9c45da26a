// The one place that decides how the plugin's own requests leave the process: OpenID discovery, key sets, the
// on-behalf-of token requests and the downstream calls all take the fetch made here, once, at start-up.
//
// Why undici: Node's global fetch and node:https ignore HTTPS_PROXY/NO_PROXY unless the process was started with
// NODE_USE_ENV_PROXY=1 (Node 24.5+ and 22.21+ only; our engines field says 22.12), and that is the operator's
// switch for the whole process, not a library's. undici (the fetch Node itself bundles) has ProxyAgent and a
// dispatcher per call, so the proxy and the extra CA certificates apply to our requests and to nothing else. It is
// loaded only when a proxy or CA certificates are configured: a direct API pays nothing for it.
import { rootCertificates } from 'node:tls'
import { EntraConfigError } from '../../util/config-error.js'

/** A fetch as the plugin calls it: a URL and `fetch`'s init (method, headers, body, signal, redirect). */
export type OutboundFetch = (url: string, init: RequestInit) => Promise<Response>

/**
 * How the plugin's own requests (discovery, key sets, on-behalf-of tokens, downstream calls) reach the network.
 * The deadline of each is the plugin's `timeoutDuration` (the downstream plugin's `timeoutMs`).
 */
export interface NetworkOptions {
  /**
   * The forward proxy, an `http://` (or `https://`) URL, credentials in it if it needs them
   * (`http://user:password@proxy.corp:3128`); `false` for none, whatever the environment says.
   * Default: the standard variables, read once when the plugin starts, as the Azure SDKs read them: one proxy,
   * `HTTPS_PROXY`, else `ALL_PROXY`, else `HTTP_PROXY` (each upper case, then lower case), for every request
   * whose host `NO_PROXY` (`no_proxy`) does not cover (`*`, `host`, `.domain`, `host:port`, comma-separated).
   */
  proxy?: string | false | undefined
  /**
   * Certificates (PEM) trusted for these requests in addition to Node's root store, e.g. a TLS-inspecting proxy's
   * or a private CA's. The process-wide store is not touched. Default: none.
   */
  caCertificates?: string | Buffer | ReadonlyArray<string | Buffer> | undefined
  /**
   * A fetch to make every request with, for anything else (a custom undici dispatcher, mTLS to the proxy,
   * instrumentation). It replaces `proxy` and `caCertificates`, which must then be left out. Default: none.
   */
  fetch?: OutboundFetch | undefined
}

/** The network settings after validation. */
export interface ResolvedNetwork {
  /** The fetch every outbound request of the plugin goes through. */
  readonly fetch: OutboundFetch
  /** How requests leave, for logs, without credentials: `direct`, `proxy http://proxy.corp:3128 (HTTPS_PROXY)`, .... */
  readonly route: string
}

type Environment = Readonly<Record<string, string | undefined>>

/**
 * Validates `options` (the plugin's `network` option) and builds the fetch. `env` is read now, never again.
 *
 * @throws {@link EntraConfigError} naming the bad `network.*` option.
 */
export function resolveNetwork(options: NetworkOptions | undefined, env: Environment = process.env): ResolvedNetwork {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new EntraConfigError('network', 'must be an object: { proxy, caCertificates, fetch }')
  }
  const { proxy, caCertificates, fetch: given } = options ?? {}
  const ca = certificates(caCertificates)
  if (given !== undefined) {
    if (typeof given !== 'function') throw new EntraConfigError('network.fetch', 'must be a fetch function')
    if (proxy !== undefined || ca !== null) {
      throw new EntraConfigError('network.fetch', 'replaces "proxy" and "caCertificates": configure them in that fetch instead')
    }
    return { fetch: given, route: 'network.fetch' }
  }
  if (proxy !== undefined && proxy !== false && typeof proxy !== 'string') {
    throw new EntraConfigError('network.proxy', 'must be a proxy URL (http://host:port) or false')
  }
  const fromEnv = proxy === undefined ? environmentProxy(env) : null
  const proxyUrl = proxy === undefined ? fromEnv?.url : proxy === false ? undefined : proxy
  const source = fromEnv === null ? 'network.proxy' : fromEnv?.variable
  if (proxyUrl !== undefined) checkProxyUrl(proxyUrl, source === 'network.proxy' ? 'network.proxy' : `network.proxy (from ${source})`)
  if (proxyUrl === undefined && ca === null) return { fetch: (url, init) => fetch(url, init), route: 'direct' }

  const tls = ca === null ? undefined : { ca: [...rootCertificates, ...ca] }
  const noProxy = fromEnv?.noProxy ?? ''
  const route = proxyUrl === undefined
    ? 'direct'
    : `proxy ${redacted(proxyUrl)} (${source ?? 'network.proxy'}${noProxy === '' ? '' : `; NO_PROXY ${noProxy}`})`
  return { fetch: undiciFetch(proxyUrl, noProxy, tls), route }
}

/** The proxy the standard variables name, as @azure/core-rest-pipeline reads them; null when none is set. */
function environmentProxy(env: Environment): { url: string, variable: string, noProxy: string } | null {
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'HTTP_PROXY', 'http_proxy']) {
    const url = env[name]?.trim()
    if (url !== undefined && url !== '') {
      return { url, variable: name, noProxy: (env.NO_PROXY ?? env.no_proxy ?? '').trim() }
    }
  }
  return null
}

function checkProxyUrl(value: string, option: string): void {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new EntraConfigError(option, 'must be an absolute http:// or https:// URL, e.g. http://proxy.corp:3128')
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new EntraConfigError(option, `must be an http:// or https:// URL with a host, not ${url.protocol}`)
  }
}

function certificates(value: NetworkOptions['caCertificates']): Array<string | Buffer> | null {
  if (value === undefined) return null
  const list: unknown = typeof value === 'string' || Buffer.isBuffer(value) ? [value] : value
  if (!Array.isArray(list) || list.length === 0 ||
    !list.every((c: unknown) => (typeof c === 'string' || Buffer.isBuffer(c)) && String(c).includes('-----BEGIN CERTIFICATE-----'))) {
    throw new EntraConfigError('network.caCertificates', 'must be one or more PEM certificates (-----BEGIN CERTIFICATE-----)')
  }
  return [...(list as Array<string | Buffer>)]
}

/** The proxy URL without its credentials, for logs. */
function redacted(value: string): string {
  const url = new URL(value)
  url.username = ''
  url.password = ''
  return url.origin
}

/**
 * undici's fetch over one dispatcher for the plugin's requests: an EnvHttpProxyAgent (a proxy, bypassed for the
 * hosts of `noProxy`) or, with no proxy, an Agent trusting `tls.ca`. undici is imported on the first request.
 * `proxyTunnel: false`: plain http targets go to the proxy in absolute form (RFC 9112 3.2.2), https ones
 * through `CONNECT`, as curl and Node's own proxy support do.
 */
function undiciFetch(proxyUrl: string | undefined, noProxy: string, tls: { ca: string[] | Array<string | Buffer> } | undefined): OutboundFetch {
  let ready: Promise<{ fetch: (url: string, init: object) => Promise<unknown>, dispatcher: object }> | undefined
  return async (url, init) => {
    ready ??= import('undici').then((undici) => {
      const trust = tls === undefined ? {} : { connect: tls, requestTls: tls, proxyTls: tls }
      return {
        fetch: undici.fetch,
        dispatcher: proxyUrl === undefined
          ? new undici.Agent(trust)
          : new undici.EnvHttpProxyAgent({ httpProxy: proxyUrl, httpsProxy: proxyUrl, noProxy, proxyTunnel: false, ...trust })
      }
    })
    const { fetch: send, dispatcher } = await ready
    return await send(url, { ...init, dispatcher }) as Response
  }
}
