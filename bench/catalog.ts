// The servers under test, each a file in bench/servers/, and how their figures relate to one another.
import type { PluginBuild } from './baseline-build.js'

/**
 * The load scenarios (bench/scenario.ts), by the tokens their requests carry; the telemetry comparison
 * (bench/telemetry-comparison.ts) runs the first two again, as scenarios of their own, for the telemetry servers,
 * and one of its own: new tokens (the token cache off, a signature checked on every request).
 */
export type ScenarioId = 'same-token' | 'distinct-tokens' | 'zipf' | 'new-tokens' | 'telemetry-same-token' | 'telemetry-distinct-tokens' | 'telemetry-new-tokens'

/** What a server is in the comparison. */
export type ServerRole =
  /** No authentication: the ceiling its framework's authenticated servers are measured against. */
  | 'ceiling'
  /**
   * fastify-entra-id, with its token cache on (the default) or off, built from this checkout or from a baseline
   * commit: never a peer, never the best peer.
   */
  | 'subject'
  /** Another library doing the same job. */
  | 'peer'
  /**
   * Not a verifier: bare Fastify doing only the floor's work per request (payload decode and the RS256 check),
   * to show what that work costs inside a server.
   */
  | 'reference'

/** One server under test. */
export interface ServerSpec {
  /** Also the file name in bench/servers/ (without `.ts`). */
  readonly id: string
  readonly label: string
  readonly role: ServerRole
  /** The server without authentication on the same framework: "auth CPU" is CPU per request over it. */
  readonly bare: string
  /** The file in bench/servers/ (without `.ts`) when it is not the id: a baseline server runs its subject's file. */
  readonly file?: string
  /** The build of the plugin that `fastify-entra-id` resolves to in this server, when not this checkout's. */
  readonly pluginBuild?: PluginBuild
  /**
   * Modules of bench/servers/ (without `.ts`) imported before the server file (`node --import`), in this order:
   * what the application sets up before it builds its app, such as OpenTelemetry's providers.
   */
  readonly preloads?: readonly string[]
  /**
   * The load scenarios the server runs in, when not all of them; such a server also sits out the cold starts and
   * the peak-RSS run. The telemetry servers answer one question (what telemetry costs a request), asked in two.
   */
  readonly scenarios?: readonly ScenarioId[]
}

/** Every server of a run without a baseline, in table order. */
export const SERVERS: readonly ServerSpec[] = [
  { id: 'fastify-bare', label: 'Fastify, no auth (the ceiling)', role: 'ceiling', bare: 'fastify-bare' },
  { id: 'fastify-entra-id', label: 'Fastify + fastify-entra-id', role: 'subject', bare: 'fastify-bare' },
  {
    id: 'fastify-entra-id-otel',
    label: 'Fastify + fastify-entra-id, telemetry on (OpenTelemetry MeterProvider + TracerProvider, OTLP export)',
    role: 'subject',
    bare: 'fastify-bare',
    file: 'fastify-entra-id',
    preloads: ['otel-providers'],
    scenarios: ['telemetry-same-token', 'telemetry-distinct-tokens']
  },
  {
    id: 'fastify-entra-id-otel-app',
    label: 'Fastify + fastify-entra-id, its telemetry off (`telemetry: false`), the providers exporting an application metric (information)',
    role: 'subject',
    bare: 'fastify-bare',
    file: 'fastify-entra-id-telemetry-off',
    preloads: ['otel-providers', 'otel-app-metric'],
    scenarios: ['telemetry-same-token', 'telemetry-distinct-tokens']
  },
  {
    id: 'fastify-entra-id-http-client',
    label: 'Fastify + fastify-entra-id, no OpenTelemetry, a node:http client posting to the receiver every 5 s (information)',
    role: 'subject',
    bare: 'fastify-bare',
    file: 'fastify-entra-id',
    preloads: ['http-client'],
    scenarios: ['telemetry-same-token', 'telemetry-distinct-tokens']
  },
  {
    id: 'fastify-entra-id-otel-stack',
    label: 'Fastify + fastify-entra-id, telemetry on + @fastify/otel (the sample\'s stack, information)',
    role: 'subject',
    bare: 'fastify-bare',
    file: 'fastify-entra-id',
    preloads: ['otel-providers', 'otel-fastify'],
    scenarios: ['telemetry-same-token', 'telemetry-distinct-tokens']
  },
  { id: 'fastify-entra-id-nocache', label: 'Fastify + fastify-entra-id, token cache off', role: 'subject', bare: 'fastify-bare' },
  {
    id: 'fastify-entra-id-nocache-otel',
    label: 'Fastify + fastify-entra-id, token cache off, telemetry on (information)',
    role: 'subject',
    bare: 'fastify-bare',
    file: 'fastify-entra-id-nocache',
    preloads: ['otel-providers'],
    scenarios: ['telemetry-new-tokens']
  },
  {
    id: 'fastify-entra-id-nocache-otel-app',
    label: 'Fastify + fastify-entra-id, token cache off, its telemetry off, the providers exporting an application metric (information)',
    role: 'subject',
    bare: 'fastify-bare',
    file: 'fastify-entra-id-nocache-telemetry-off',
    preloads: ['otel-providers', 'otel-app-metric'],
    scenarios: ['telemetry-new-tokens']
  },
  { id: 'fastify-floor', label: 'Fastify + the floor\'s work only (reference: payload decode + RS256 check, no rules)', role: 'reference', bare: 'fastify-bare' },
  { id: 'fastify-jose', label: 'Fastify + jose jwtVerify, one shared createRemoteJWKSet', role: 'peer', bare: 'fastify-bare' },
  { id: 'fastify-jwt-jwks', label: 'Fastify + fastify-jwt-jwks', role: 'peer', bare: 'fastify-bare' },
  { id: 'fastify-jwt-get-jwks', label: 'Fastify + @fastify/jwt + get-jwks, token cache on', role: 'peer', bare: 'fastify-bare' },
  { id: 'express-bare', label: 'Express, no auth (the Express ceiling)', role: 'ceiling', bare: 'express-bare' },
  { id: 'express-oauth2-jwt-bearer', label: 'Express + express-oauth2-jwt-bearer (Auth0)', role: 'peer', bare: 'express-bare' }
]

/** The reference server: the floor's work inside a server, the bound a new token is held to. */
export const FLOOR_SERVER_ID = 'fastify-floor'

/** The server every req/s ratio is taken against. */
export const CEILING_ID = 'fastify-bare'
/** The server the peers are compared with: fastify-entra-id as shipped, its token cache on. */
export const SUBJECT_ID = 'fastify-entra-id'
/** The same server with `tokenCache: false`: what every new token costs, held to the floor target. */
export const SUBJECT_NOCACHE_ID = 'fastify-entra-id-nocache'

/**
 * fastify-entra-id as shipped with OpenTelemetry's providers registered (telemetry "on"): the same server file as
 * {@link SUBJECT_ID} (telemetry "off"), started with bench/servers/otel-providers.ts imported first.
 */
export const SUBJECT_OTEL_ID = 'fastify-entra-id-otel'
/**
 * The providers of {@link SUBJECT_OTEL_ID} exporting a metric of the application's own, the plugin's telemetry
 * off: what OpenTelemetry costs the application before the plugin's telemetry adds to it. Information.
 */
export const SUBJECT_OTEL_APP_ID = 'fastify-entra-id-otel-app'
/**
 * {@link SUBJECT_ID} with no OpenTelemetry, and a node:http client posting to the OTLP receiver as often as the
 * exporter does: what an HTTP client in the process costs the server, whoever sends. Information.
 */
export const SUBJECT_HTTP_CLIENT_ID = 'fastify-entra-id-http-client'
/** {@link SUBJECT_NOCACHE_ID} with OpenTelemetry's providers registered: telemetry on when every token is new. */
export const SUBJECT_NOCACHE_OTEL_ID = 'fastify-entra-id-nocache-otel'
/** {@link SUBJECT_NOCACHE_ID} with its telemetry off under the same providers and an application metric. */
export const SUBJECT_NOCACHE_OTEL_APP_ID = 'fastify-entra-id-nocache-otel-app'
/** The same with @fastify/otel registered too (a span per request and per hook), as the sample runs: information. */
export const SUBJECT_OTEL_STACK_ID = 'fastify-entra-id-otel-stack'

/** The subjects that `--baseline` runs a second time, on the baseline's build. */
export const SUBJECT_IDS: readonly string[] = [SUBJECT_ID, SUBJECT_NOCACHE_ID]

/** The id of `subjectId`'s server on the baseline build: `fastify-entra-id@00f4945`. */
export function baselineIdOf(subjectId: string, build: Pick<PluginBuild, 'shortCommit'>): string {
  return `${subjectId}@${build.shortCommit}`
}

/** Whether `spec` runs in `scenario` (see {@link ServerSpec.scenarios}). */
export function runsIn(spec: ServerSpec, scenario: ScenarioId): boolean {
  return spec.scenarios === undefined || spec.scenarios.includes(scenario)
}

/** Whether `spec` runs in every scenario, and so in the cold starts and the peak-RSS run too. */
export function runsEverywhere(spec: ServerSpec): boolean {
  return spec.scenarios === undefined
}

/**
 * The servers of a run: {@link SERVERS} and, given a baseline build, each subject again on that build, listed right
 * after it. The scenarios rotate through the servers in this order, so each pair is measured in adjacent turns.
 */
export function serversOf(build: PluginBuild | null): readonly ServerSpec[] {
  if (build === null) return SERVERS
  return SERVERS.flatMap((spec) => (SUBJECT_IDS.includes(spec.id)
    ? [spec, { ...spec, id: baselineIdOf(spec.id, build), label: `${spec.label} @ ${build.shortCommit} (baseline)`, file: spec.id, pluginBuild: build }]
    : [spec]))
}
