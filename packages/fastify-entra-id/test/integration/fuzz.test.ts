import { after, before, describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createPrivateKey, sign } from 'node:crypto'
import type { JsonWebKey, KeyObject } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import fc from 'fast-check'
import { EntraAuthError } from '../../src/index.js'
import { readBearerToken } from '../../src/core/transport/bearer.js'
import type { EntraAuthErrorCode } from '../../src/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, buildApp } from '../helpers.js'

// Fuzzing the transport (readBearerToken) and the verifier through the plugin, with mutations of real tokens
// signed by a loopback issuer. Each property is bounded by runs and by time: on a busy machine fast-check stops
// early and passes with the runs it made; a failure prints its seed and path to replay it.
const BUDGET = { interruptAfterTimeLimit: 4000, endOnFailure: true } as const

// The codes a refusal of GET /me may carry: the issuer stays up (no 503) and the route requires no scope (no 403).
const REFUSAL_CODES = [
  'ENTRA_TOKEN_MISSING',
  'ENTRA_INVALID_REQUEST',
  'ENTRA_TOKEN_MALFORMED',
  'ENTRA_TOKEN_EXPIRED',
  'ENTRA_TOKEN_NOT_YET_VALID',
  'ENTRA_TOKEN_INVALID_SIGNATURE',
  'ENTRA_TOKEN_UNSUPPORTED_ALGORITHM',
  'ENTRA_TOKEN_UNTRUSTED_KEY',
  'ENTRA_TOKEN_UNKNOWN_KEY',
  'ENTRA_TOKEN_INVALID_ISSUER',
  'ENTRA_TOKEN_INVALID_AUDIENCE',
  'ENTRA_TOKEN_TENANT_NOT_ALLOWED',
  'ENTRA_TOKEN_VERSION_MISMATCH',
  'ENTRA_TOKEN_NOT_ACCESS_TOKEN',
  'ENTRA_TOKEN_INVALID_CLAIMS'
] as const satisfies readonly EntraAuthErrorCode[]
const REFUSAL_CODE_SET: ReadonlySet<string> = new Set(REFUSAL_CODES)

const BASE64URL_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')
// Header values a Node server can receive: SP, HTAB, visible ASCII and obs-text (llhttp refuses CR, LF, NUL and
// other controls, so app.inject, which does not, is kept to these).
const LATIN1 = fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c))
const WHITESPACE = [' ', '\t', '\u00a0'] as const

type Segment = 0 | 1 | 2

/** A change to a token, as data, so a counterexample reads as what was done. */
type Mutation =
  | { kind: 'flip-text', segment: Segment, at: number, bit: number }
  | { kind: 'flip-byte', segment: Segment, at: number, bit: number }
  | { kind: 'pad', segment: Segment, count: number }
  | { kind: 'standard-base64', segment: Segment }
  | { kind: 'case', segment: Segment, upper: boolean }
  | { kind: 'whitespace', at: number, char: string }
  | { kind: 'segments', order: Segment[] }
  | { kind: 'truncate', keep: number }
  | { kind: 'dots', at: number, count: number }
  | { kind: 'non-ascii', at: number, char: string, replace: boolean }
  | { kind: 'long', segment: Segment, length: number, filler: string }
  | { kind: 'inject', segment: 0 | 1, fields: [string, unknown][], prepend: boolean }
  | { kind: 'rejson', segment: 0 | 1, indent: boolean, reverse: boolean }
  | { kind: 'empty', segment: Segment }

const segment = fc.constantFrom<Segment>(0, 1, 2)
const at = fc.nat({ max: 4000 })

// Header parameters an attacker reaches for (RFC 8725 §2, §3.10), with values aimed at each.
const headerField: fc.Arbitrary<[string, unknown]> = fc.oneof(
  fc.tuple(fc.constant('alg'), fc.oneof(fc.constantFrom('none', 'None', 'NONE', 'HS256', 'RS384', 'PS256', 'ES256', 'rs256', 'RS256 ', ''), fc.jsonValue({ maxDepth: 1 }))),
  fc.tuple(fc.constant('kid'), fc.oneof(
    fc.constantFrom('../../../etc/passwd', '..%2F..%2Fjwks', '__proto__', 'constructor', 'hasOwnProperty', '', 'k'.repeat(12000)),
    fc.jsonValue({ maxDepth: 1 }))),
  fc.tuple(fc.constantFrom('jku', 'x5u'), fc.oneof(fc.constant('https://attacker.example/jwks.json'), fc.webUrl(), fc.jsonValue({ maxDepth: 1 }))),
  fc.tuple(fc.constant('jwk'), fc.oneof(fc.constant({ kty: 'RSA', n: 'AQAB', e: 'AQAB' }), fc.jsonValue({ maxDepth: 2 }))),
  fc.tuple(fc.constant('x5c'), fc.oneof(fc.constant(['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA']), fc.jsonValue({ maxDepth: 1 }))),
  fc.tuple(fc.constant('crit'), fc.oneof(fc.constant(['b64']), fc.constant(['exp']), fc.jsonValue({ maxDepth: 1 }))),
  fc.tuple(fc.constant('b64'), fc.oneof(fc.constant(false), fc.jsonValue({ maxDepth: 0 }))),
  fc.tuple(fc.constantFrom('typ', 'cty', 'zip', 'enc', 'x5t', 'x5t#S256', 'p2s', 'epk', '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 1 }))
)
// Claims the verifier reads before the signature, with values of every JSON type (NumericDates far out of range).
const claimField: fc.Arbitrary<[string, unknown]> = fc.tuple(
  fc.constantFrom('iss', 'aud', 'tid', 'ver', 'exp', 'nbf', 'iat', 'scp', 'roles', 'oid', 'sub', 'azp', 'appid', 'idtyp', '__proto__'),
  fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(1e308, -1, 2 ** 53, 253_402_300_800, '1.0', '2.0', []))
)

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip-text' as const), segment, at, bit: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constant('flip-byte' as const), segment, at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('pad' as const), segment, count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('standard-base64' as const), segment }),
  fc.record({ kind: fc.constant('case' as const), segment, upper: fc.boolean() }),
  fc.record({ kind: fc.constant('whitespace' as const), at, char: fc.constantFrom(...WHITESPACE) }),
  fc.record({ kind: fc.constant('segments' as const), order: fc.array(segment, { minLength: 1, maxLength: 5 }) }),
  fc.record({ kind: fc.constant('truncate' as const), keep: at }),
  fc.record({ kind: fc.constant('dots' as const), at, count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('non-ascii' as const), at, char: LATIN1, replace: fc.boolean() }),
  fc.record({ kind: fc.constant('long' as const), segment, length: fc.integer({ min: 16_000, max: 17_000 }), filler: fc.constantFrom('A', 'x', '_', '-', '0') }),
  fc.record({ kind: fc.constant('inject' as const), segment: fc.constant(0 as const), fields: fc.array(headerField, { minLength: 1, maxLength: 3 }), prepend: fc.boolean() }),
  fc.record({ kind: fc.constant('inject' as const), segment: fc.constant(1 as const), fields: fc.array(claimField, { minLength: 1, maxLength: 3 }), prepend: fc.boolean() }),
  fc.record({ kind: fc.constant('rejson' as const), segment: fc.constantFrom(0 as const, 1 as const), indent: fc.boolean(), reverse: fc.boolean() }),
  fc.record({ kind: fc.constant('empty' as const), segment })
)

function mutate(token: string, m: Mutation): string {
  const parts = token.split('.') as [string, string, string]
  const withSegment = (index: Segment, f: (text: string) => string): string => {
    const changed: string[] = [...parts]
    changed[index] = f(parts[index])
    return changed.join('.')
  }
  const insert = (text: string, index: number, value: string): string => text.slice(0, index % (text.length + 1)) + value + text.slice(index % (text.length + 1))
  switch (m.kind) {
    case 'flip-text':
      return withSegment(m.segment, (text) => {
        if (text === '') return text
        const i = m.at % text.length
        return text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ (1 << m.bit)) + text.slice(i + 1)
      })
    case 'flip-byte':
      return withSegment(m.segment, (text) => {
        const bytes = Buffer.from(text, 'base64url')
        if (bytes.length === 0) return text
        const i = m.at % bytes.length
        bytes[i] = (bytes[i] as number) ^ (1 << m.bit)
        return bytes.toString('base64url')
      })
    case 'pad':
      return withSegment(m.segment, (text) => text + '='.repeat(m.count))
    case 'standard-base64':
      return withSegment(m.segment, (text) => Buffer.from(text, 'base64url').toString('base64'))
    case 'case':
      return withSegment(m.segment, (text) => (m.upper ? text.toUpperCase() : text.toLowerCase()))
    case 'whitespace':
      return insert(token, m.at, m.char)
    case 'segments':
      return m.order.map((i) => parts[i]).join('.')
    case 'truncate':
      return token.slice(0, m.keep % token.length)
    case 'dots':
      return insert(token, m.at, '.'.repeat(m.count))
    case 'non-ascii': {
      const i = m.at % token.length
      return token.slice(0, i) + m.char + token.slice(m.replace ? i + 1 : i)
    }
    case 'long':
      return withSegment(m.segment, (text) => text + m.filler.repeat(Math.max(0, m.length - token.length)))
    case 'inject':
      return withSegment(m.segment, (text) => injectFields(text, m.fields, m.prepend))
    case 'rejson':
      return withSegment(m.segment, (text) => {
        const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>
        const entries = Object.entries(value)
        if (m.reverse) entries.reverse()
        return Buffer.from(JSON.stringify(Object.fromEntries(entries), null, m.indent ? 1 : 0), 'utf8').toString('base64url')
      })
    case 'empty':
      return withSegment(m.segment, () => '')
  }
}

/** A header value without the spaces and tabs around it, as HTTP reads it (RFC 9110 §5.5). */
function trimOws(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '')
}

/**
 * Whether a mutated token is the original as far as a verifier may tell: the same text. Segments must be canonical
 * base64url, so no other spelling of the same bytes verifies.
 */
function sameToken(candidate: string, original: string): boolean {
  return candidate === original
}

let signingKey: KeyObject | undefined

/** Re-signs `token` (RS256, with the issuer's signing key) after injecting `fields` as text into its header. */
function signHeader(token: string, fields: [string, unknown][], prepend: boolean): string {
  const [header, payload] = token.split('.') as [string, string, string]
  const input = `${injectFields(header, fields, prepend)}.${payload}`
  return `${input}.${sign('sha256', Buffer.from(input), signingKey as KeyObject).toString('base64url')}`
}

/** Re-signs `token` after injecting `fields` as text into its payload. */
function signPayload(token: string, fields: [string, unknown][], prepend: boolean): string {
  const [header, payload] = token.split('.') as [string, string, string]
  const input = `${header}.${injectFields(payload, fields, prepend)}`
  return `${input}.${sign('sha256', Buffer.from(input), signingKey as KeyObject).toString('base64url')}`
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** The header rules a verifier must apply (RFC 8725 §3.1, §3.10; RFC 7515 §4.1.11), as a reference. */
function headerIsTrusted(token: string, kid: string): boolean {
  const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8')) as Record<string, unknown>
  return header.alg === 'RS256' && header.kid === kid && !['jwk', 'jku', 'x5u', 'x5c', 'crit', 'b64'].some((name) => Object.hasOwn(header, name))
}

/** Adds fields to a base64url JSON object as text, so `__proto__` and duplicate names (JSON.parse keeps the last) reach the parser. */
function injectFields(segment: string, fields: [string, unknown][], prepend: boolean): string {
  const json = Buffer.from(segment, 'base64url').toString('utf8')
  const text = fields.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value) ?? 'null'}`).join(',')
  return Buffer.from(prepend ? `{${text},${json.slice(1)}` : `${json.slice(0, -1)},${text}}`, 'utf8').toString('base64url')
}

/** Tallies of what a property saw, for its diagnostic line. */
class Tally {
  runs = 0
  readonly statuses = new Map<number, number>()
  readonly codes = new Map<string, number>()
  readonly kinds = new Map<string, number>()
  add(response: LightMyRequestResponse, kind: string): void {
    this.runs++
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1)
    this.statuses.set(response.statusCode, (this.statuses.get(response.statusCode) ?? 0) + 1)
    const code = response.statusCode === 200 ? 'OK' : (response.json<{ code?: string }>().code ?? 'none')
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1)
  }
  report(t: TestContext): void {
    const list = (map: Map<string | number, number>): string => [...map].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${String(k)}: ${String(n)}`).join(', ')
    t.diagnostic(`${String(this.runs)} requests; statuses { ${list(this.statuses)} }`)
    t.diagnostic(`codes { ${list(this.codes)} }`)
    if (this.kinds.size > 1) t.diagnostic(`mutations { ${list(this.kinds)} }`)
  }
}

/** The texts no response may carry: each token and each of its segments long enough to mean something. */
function secretsOf(...tokens: string[]): string[] {
  return tokens.flatMap((token) => [token, ...token.split(/[.\s]/)]).filter((text) => text.length >= 8)
}

/** The string values of injected fields (a kid, a jku URL, an issuer), which no refusal may repeat either. */
function textsOf(fields: readonly [string, unknown][]): string[] {
  return fields.flatMap(([, value]) => (typeof value === 'string' && value.length >= 8 ? [value] : []))
}

describe('fuzzing the bearer parser and the verifier with mutated real tokens', () => {
  let issuer: TestIssuer
  let app: FastifyInstance
  let tokens: string[]

  before(async () => {
    issuer = await startTestIssuer()
    app = await buildApp(issuer)
    await app.ready()
    tokens = await Promise.all([
      issuer.mint({ scopes: ['Todo.Read', 'Todo.Write'] }),
      issuer.mint({ version: 1, scopes: ['Todo.Read'] }),
      issuer.mint({ appOnly: true, roles: ['Todo.Read.All'] }),
      issuer.mint({ version: 1, appOnly: true, roles: ['Todo.Read.All'], claims: { idtyp: undefined } })
    ])
    const jwk = issuer.exportKeys().find((key) => key.kid === issuer.signingKid)
    signingKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' })
    for (const token of tokens) assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'an unmutated token is accepted')
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  /**
   * A refused request: 400 or 401, the plugin's challenge, a stable code, and nothing of the tokens in the
   * answer. A 200 only when `accepted` says the request carried the original token.
   */
  function assertOutcome(response: LightMyRequestResponse, accepted: boolean, secrets: readonly string[], what: string): void {
    if (response.statusCode === 200) {
      assert.ok(accepted, `${what}: accepted a mutated token`)
      return
    }
    assert.ok(response.statusCode === 400 || response.statusCode === 401, `${what}: status ${String(response.statusCode)} ${response.body}`)
    const challenge = response.headers['www-authenticate']
    assert.ok(typeof challenge === 'string' && challenge.startsWith('Bearer realm="api"'), `${what}: challenge ${String(challenge)}`)
    const body = response.json<{ code?: unknown }>()
    assert.ok(typeof body.code === 'string' && REFUSAL_CODE_SET.has(body.code), `${what}: code ${String(body.code)}`)
    const answer = response.body + JSON.stringify(response.headers)
    for (const secret of secrets) assert.ok(!answer.includes(secret), `${what}: the answer echoes ${secret.slice(0, 40)}`)
  }

  it('refuses every mutation of a real token with 400 or 401, a stable code and no echo', async (t) => {
    const tally = new Tally()
    await fc.assert(fc.asyncProperty(fc.nat({ max: 3 }), mutation, async (which, m) => {
      const original = tokens[which] as string
      const mutated = mutate(original, m)
      const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${mutated}` } })
      tally.add(response, m.kind)
      assertOutcome(response, sameToken(trimOws(mutated), original), [...secretsOf(original, mutated), ...(m.kind === 'inject' ? textsOf(m.fields) : [])], `${m.kind} ${JSON.stringify(m).slice(0, 200)}`)
    }), { ...BUDGET, numRuns: 600 })
    tally.report(t)
  })

  it('refuses two or three stacked mutations the same way', async (t) => {
    const tally = new Tally()
    await fc.assert(fc.asyncProperty(fc.nat({ max: 3 }), fc.array(mutation, { minLength: 2, maxLength: 3 }), async (which, ms) => {
      const original = tokens[which] as string
      let mutated = original
      for (const m of ms) {
        // Later mutations read segments; one that cannot (not three segments any more) leaves the token as is.
        try {
          mutated = mutate(mutated, m)
        } catch {
          // JSON re-encoding of a segment that is no longer JSON.
        }
      }
      const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${mutated}` } })
      tally.add(response, ms.map((m) => m.kind).join('+'))
      assertOutcome(response, sameToken(trimOws(mutated), original), secretsOf(original, mutated), JSON.stringify(ms).slice(0, 300))
    }), { ...BUDGET, numRuns: 200 })
    tally.report(t)
  })

  it('refuses tokens signed by the tenant\'s key whose header names its own key, an extension or an unknown key ID', async (t) => {
    // Signed with the tenant's own key, so only the header rules stand between these and a 200.
    const tally = new Tally()
    const original = tokens[0] as string
    const fixed: [string, unknown][][] = [
      [['jku', 'https://attacker.example/jwks.json']],
      [['x5u', 'https://attacker.example/cert.pem']],
      [['jwk', { kty: 'RSA', n: 'AQAB', e: 'AQAB' }]],
      [['x5c', ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA']]],
      [['crit', ['exp']], ['exp', 1]],
      [['b64', false], ['crit', ['b64']]],
      [['kid', '../../../etc/passwd']],
      [['kid', '__proto__']],
      [['kid', 'constructor']],
      // Within the 16 KiB limit (the key set is asked for it), and beyond.
      [['kid', 'k'.repeat(11_000)]],
      [['kid', 'k'.repeat(12_500)]],
      [['kid', '']],
      [['kid', 42]],
      [['alg', 'rs256']],
      [['alg', 'RS256'], ['alg', 'none']]
    ]
    const check = async (fields: [string, unknown][], prepend: boolean): Promise<void> => {
      const token = signHeader(original, fields, prepend)
      const response = await app.inject({ url: '/me', headers: bearer(token) })
      tally.add(response, 'signed')
      assertOutcome(response, headerIsTrusted(token, issuer.signingKid), [...secretsOf(token), ...textsOf(fields)], JSON.stringify(fields).slice(0, 160))
    }
    for (const fields of fixed) await check(fields, false)
    await fc.assert(fc.asyncProperty(fc.array(headerField, { minLength: 1, maxLength: 3 }), fc.boolean(), check), { ...BUDGET, numRuns: 150 })
    tally.report(t)
  })

  it('answers tokens signed by the tenant\'s key with injected claims with 200 or 401, never a 5xx', async (t) => {
    // Past the signature: the claim rules, the identity and the token cache see values of every JSON type.
    const tally = new Tally()
    const now = Math.floor(Date.now() / 1000)
    await fc.assert(fc.asyncProperty(fc.nat({ max: 3 }), fc.array(claimField, { minLength: 1, maxLength: 4 }), fc.boolean(), async (which, fields, prepend) => {
      const original = tokens[which] as string
      const token = signPayload(original, fields, prepend)
      const response = await app.inject({ url: '/me', headers: bearer(token) })
      tally.add(response, 'signed claims')
      const what = JSON.stringify(fields).slice(0, 200)
      if (response.statusCode === 200) {
        // Necessary for a 200, not sufficient: what the API trusts is unchanged, and the token is in date.
        const before = claimsOf(original)
        const after = claimsOf(token)
        for (const claim of ['iss', 'aud', 'tid', 'ver']) assert.deepEqual(after[claim], before[claim], `${what}: accepted a changed ${claim}`)
        assert.ok(typeof after.exp === 'number' && after.exp > now - 300, `${what}: accepted exp ${String(after.exp)}`)
      }
      assertOutcome(response, true, response.statusCode === 200 ? [] : [...secretsOf(token), ...textsOf(fields)], what)
      if (response.statusCode !== 200) assert.equal(response.statusCode, 401, what)
    }), { ...BUDGET, numRuns: 150 })
    tally.report(t)
  })

  it('refuses every non-canonical spelling of a segment (unused low bits set in its last character) as malformed', async () => {
    const original = tokens[0] as string
    const parts = original.split('.') as [string, string, string]
    let variants = 0
    for (const index of [0, 1, 2] as const) {
      const text = parts[index]
      for (const last of BASE64URL_CHARS) {
        const variant = text.slice(0, -1) + last
        if (variant === text || !Buffer.from(variant, 'base64url').equals(Buffer.from(text, 'base64url'))) continue
        variants++
        const changed = [...parts]
        changed[index] = variant
        const response = await app.inject({ url: '/me', headers: bearer(changed.join('.')) })
        // Decoders ignore those bits, so each spelling decodes to the same bytes: without the check, a signature
        // would have 16 spellings that verify, each a different token to anything keyed on its text.
        assert.equal(response.statusCode, 401)
        assert.equal(response.json<{ code: string }>().code, 'ENTRA_TOKEN_MALFORMED')
      }
    }
    // RS256 signatures are 256 bytes: 342 characters, the last carrying 4 unused bits, so 15 other spellings.
    assert.ok(variants >= 15, `${variants} variants tried`)
    assert.equal((await app.inject({ url: '/me', headers: bearer(original) })).statusCode, 200)
  })

  it('answers every variation of the Authorization header with 200 only for "Bearer <token>", else 400 or 401', async (t) => {
    const tally = new Tally()
    // Weighted so that about one value in five is a well-formed "Bearer <token>".
    const scheme = fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR') },
      fc.constantFrom('Bearer:', 'Bearer=', 'Bearer,', 'Bear', 'Bearerx', 'Token', 'JWT', 'Basic', 'Negotiate', 'Digest', '', 'Bearer Bearer', 'Bearer\tBearer'),
      fc.string({ unit: fc.constantFrom('B', 'e', 'a', 'r', 'E', 'R', ' ', '\t', ':', ',', '\u00e9'), maxLength: 8 })
    )
    const gap = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(' ', '  ', '   ') }, fc.constantFrom('', '\t', ' \t', '\t ', '\u00a0', ' \u00a0'))
    const edge = fc.constantFrom('', ' ', '\t', '  ', '\u00a0')
    const join = fc.constantFrom(' ', ',', ', ', '\t', ' ,', ';')
    await fc.assert(fc.asyncProperty(
      fc.record({ lead: edge, scheme, gap, which: fc.nat({ max: 3 }), second: fc.option(fc.tuple(join, fc.nat({ max: 3 })), { freq: 2 }), trail: edge, repeat: fc.constantFrom(1, 1, 1, 2) }),
      async ({ lead, scheme, gap, which, second, trail, repeat }) => {
        const token = tokens[which] as string
        const value = `${lead}${scheme}${gap}${token}${second === null ? '' : `${second[0]}${tokens[second[1]] as string}`}${trail}`
        const authorization = repeat === 1 ? value : [value, value]
        // Node's types allow one string for `authorization`; spelled otherwise, an array is sent as two headers.
        const response = await app.inject({ url: '/me', headers: { Authorization: authorization } })
        tally.add(response, 'header')
        // RFC 6750 §2.1: "Bearer" in any case, one or more spaces, one token; the spaces and tabs around it are
        // not part of the value (RFC 9110 §5.5), any other white space (U+00A0) is. Two headers are ambiguous.
        const trimmed = trimOws(value)
        const expected = repeat === 1 && /^bearer +/i.test(trimmed) && trimmed.replace(/^bearer +/i, '') === token
        assertOutcome(response, expected, secretsOf(...tokens), JSON.stringify(value).slice(0, 120))
        if (expected) assert.equal(response.statusCode, 200, JSON.stringify(value).slice(0, 120))
      }), { ...BUDGET, numRuns: 300 })
    tally.report(t)
  })

  it('readBearerToken returns a token or throws a 400/401 EntraAuthError for any raw headers and query', (t) => {
    let returned = 0
    let thrown = 0
    const name = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('authorization', 'Authorization', 'AUTHORIZATION', 'aUtHoRiZaTiOn') },
      { weight: 1, arbitrary: fc.constantFrom('proxy-authorization', 'authorizatio', 'x-authorization', 'host') })
    const piece = fc.oneof(fc.constantFrom('Bearer', 'bearer', ' ', '\t', '.', ',', 'eyJ', 'abc', '='), LATIN1, fc.string({ maxLength: 1 }))
    const tokenish = fc.string({ unit: fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...BASE64URL_CHARS) }, fc.constantFrom(' ', '\t', '.', ','), LATIN1), maxLength: 24 })
    const value = fc.oneof(
      fc.string({ unit: piece, maxLength: 12 }),
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom('', ' ', '\t'), fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Bearer,', 'Basic'), fc.constantFrom(' ', ' ', '  ', '', '\t'), tokenish, fc.constantFrom('', ' ', '\t'))
        .map((parts) => parts.join('')) })
    const query = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(undefined, null, {}, { page: '2' }) },
      fc.dictionary(fc.constantFrom('access_token', 'id_token', 'code', 'page', '__proto__', 'constructor'), fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 2 }))),
      fc.jsonValue({ maxDepth: 1 })
    )
    // Often a single Authorization header, the case where a token may come out.
    const headerLists = fc.oneof(fc.tuple(fc.constant('authorization'), value).map((header) => [header]), fc.array(fc.tuple(name, value), { maxLength: 3 }))
    fc.assert(fc.property(headerLists, query, fc.option(fc.constantFrom('api', 'my-realm')), (headers, q, realm) => {
      const rawHeaders = headers.flat()
      try {
        const token = readBearerToken({ rawHeaders, query: q }, realm ?? undefined)
        returned++
        assert.ok(token !== '' && !token.includes(' ') && !token.includes('\t'), `a token of one piece: ${JSON.stringify(token)}`)
        assert.ok(headers.some(([n, v]) => n.toLowerCase() === 'authorization' && trimOws(v).endsWith(token)), 'taken from the Authorization header')
      } catch (error) {
        thrown++
        assert.ok(error instanceof EntraAuthError, `not an EntraAuthError: ${String(error)}`)
        assert.ok(error.statusCode === 400 || error.statusCode === 401, `status ${String(error.statusCode)}`)
        assert.ok(error.code === 'ENTRA_TOKEN_MISSING' || error.code === 'ENTRA_INVALID_REQUEST', error.code)
        assert.ok(error.headers['www-authenticate']?.startsWith(`Bearer realm="${realm ?? 'api'}"`))
      }
    }), { ...BUDGET, numRuns: 2000 })
    t.diagnostic(`${String(returned + thrown)} calls: ${String(returned)} tokens returned, ${String(thrown)} refusals`)
  })
})
