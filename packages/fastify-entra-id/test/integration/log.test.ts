import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import fc from 'fast-check'
import fastifyEntraId from '../../src/index.js'
import { redactUnmatchedUrl, redactUrl, redactedQueryParams, requestSerializer } from '../../src/log/index.js'
import { buildApp, logSink, withIssuer } from '../helpers.js'

// Every property is bounded twice: by its number of runs, and by time, so a busy CI machine ends it early
// (fast-check then reports success for the runs made) rather than stalling the suite.
const PROPERTY = { numRuns: 500, interruptAfterTimeLimit: 5000, endOnFailure: true } as const

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLWFsaWNl'

describe('redacting credentials from logged URLs', () => {
  it('redacts each encoding of access_token named in issue 8, keeping the other parameters readable', () => {
    const forms: [string, string][] = [
      [`/me?access%5Ftoken=${TOKEN}&page=2`, '/me?access%5Ftoken=[REDACTED]&page=2'],
      [`/me?%61ccess_token=${TOKEN}&page=2`, '/me?%61ccess_token=[REDACTED]&page=2'],
      [`/me?access_token[]=${TOKEN}&page=2`, '/me?access_token[]=[REDACTED]&page=2'],
      [`/me?access_token%3D${TOKEN}&page=2`, '/me?[REDACTED]&page=2'],
      [`/me?page=2;access_token=${TOKEN}&lang=en`, '/me?page=2;access_token=[REDACTED]&lang=en'],
      [`/me;access_token=${TOKEN}`, '/me;access_token=[REDACTED]'],
      [`/me?access_token=${TOKEN}&page=2`, '/me?access_token=[REDACTED]&page=2']
    ]
    for (const [url, expected] of forms) {
      const redacted = redactUrl(url)
      assert.equal(redacted, expected, url)
      assert.ok(!redacted.includes(TOKEN.slice(0, 20)), url)
    }
  })

  it('redacts a token whatever its parameter is called, sent bare, or percent-encoded, and leaves values that are no token', () => {
    const forms: [string, string][] = [
      [`/x?t=${TOKEN}&page=2`, '/x?t=[REDACTED]&page=2'],
      [`/x?page=2&jwt=Bearer%20${TOKEN}`, '/x?page=2&jwt=[REDACTED]'],
      [`/x?auth=%65yJ${TOKEN.slice(3)}`, '/x?auth=[REDACTED]'],
      [`/x?${TOKEN}`, '/x?[REDACTED]'],
      [`/x?page=2&${TOKEN}&n=1`, '/x?page=2&[REDACTED]&n=1'],
      [`/x?page=1;t=${TOKEN}&n=1`, '/x?page=1;t=[REDACTED]&n=1']
    ]
    for (const [url, expected] of forms) assert.equal(redactUrl(url), expected, url)
    for (const url of ['/x?q=eyJ&page=2', '/x?v=eyJhbGciOiJSUzI1NiJ9', '/x?file=report.eyJ.pdf', '/x?q=hello.world.again']) {
      assert.equal(redactUrl(url), url)
    }
  })

  it('redacts every token-bearing name, in any case, and leaves names that only contain one', () => {
    for (const name of redactedQueryParams) {
      for (const spelling of [name, name.toUpperCase(), name.charAt(0).toUpperCase() + name.slice(1)]) {
        assert.equal(redactUrl(`/cb?${spelling}=${TOKEN}&state=xyz`), `/cb?${spelling}=[REDACTED]&state=xyz`, spelling)
      }
    }
    assert.equal(redactUrl('/zip?zipcode=75001&codes=a,b&my_access_token=ok'), '/zip?zipcode=75001&codes=a,b&my_access_token=ok')
  })

  it('redacts repeated parameters and arrays', () => {
    assert.equal(redactUrl('/x?code=one&code=two&access_token[0]=three&access_token[a][b]=four&n=1'),
      '/x?code=[REDACTED]&code=[REDACTED]&access_token[0]=[REDACTED]&access_token[a][b]=[REDACTED]&n=1')
  })

  it('reads + and %20 as spaces, and spaces or dots in a name as underscores (PHP)', () => {
    assert.equal(redactUrl(`/x?access+token=${TOKEN}`), '/x?access+token=[REDACTED]')
    assert.equal(redactUrl(`/x?access%20token=${TOKEN}`), '/x?access%20token=[REDACTED]')
    assert.equal(redactUrl(`/x?id.token=${TOKEN}`), '/x?id.token=[REDACTED]')
    assert.equal(redactUrl(`/x?%20code%20=${TOKEN}`), '/x?%20code%20=[REDACTED]')
    // A value keeps its + and %20: only names are decoded.
    assert.equal(redactUrl('/x?q=a+b%20c&code=1'), '/x?q=a+b%20c&code=[REDACTED]')
  })

  it('redacts a secret value up to the next &, as Fastify reads it, whatever it contains', () => {
    assert.equal(redactUrl('/x?code=abc;def#ghi?jkl&n=1'), '/x?code=[REDACTED]&n=1')
    // To Fastify, the name is `access_token;x`, a secret name and more; to a parser that splits on `;` too, the
    // rest is the next parameter.
    assert.equal(redactUrl('/x?access_token;x=secret&n=1'), '/x?[REDACTED]&n=1')
  })

  it('redacts a name that decodes to a secret name followed by a separator, whole', () => {
    for (const name of ['access_token%3Dsecret', 'access_token%3dsecret', 'x%26access_token%3Dsecret', 'access_token%00secret', 'code%3Bsecret']) {
      assert.equal(redactUrl(`/x?${name}=v&n=1`), '/x?[REDACTED]&n=1', name)
    }
  })

  it('redacts a name percent-encoded twice', () => {
    assert.equal(redactUrl(`/x?access%255Ftoken=${TOKEN}`), '/x?access%255Ftoken=[REDACTED]')
  })

  it('redacts a secret in a nested URL, encoded or not (a redirect URI)', () => {
    assert.equal(redactUrl('/login?redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fcode%3Dsecret&state=s'), '/login?redirect_uri=[REDACTED]&state=s')
    assert.equal(redactUrl('/login?redirect_uri=https%3A%2F%2Fapp.example%2Fcb%23access_token%3Dsecret'), '/login?redirect_uri=[REDACTED]')
    assert.equal(redactUrl('/login?next=/cb?access_token=secret&state=s'), '/login?next=/cb?access_token=[REDACTED]&state=s')
    assert.equal(redactUrl('/login?redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fpage%3D2'), '/login?redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fpage%3D2')
  })

  it('redacts a value that nests URLs deeper than it searches (three levels)', () => {
    const nest = (levels: number): string => {
      let url = '/d?page=2'
      for (let i = 0; i < levels; i++) url = `/n${String(i)}?next=${encodeURIComponent(url)}`
      return url
    }
    assert.equal(redactUrl(nest(3)), nest(3))
    assert.equal(redactUrl(nest(4)), '/n3?next=[REDACTED]')
  })

  it('handles a fragment, though browsers never send one', () => {
    assert.equal(redactUrl(`/cb#access_token=${TOKEN}&state=s`), '/cb#access_token=[REDACTED]&state=s')
    assert.equal(redactUrl(`/cb?state=s#id_token=${TOKEN}`), '/cb?state=s#id_token=[REDACTED]')
  })

  it('fails closed: a query with a name that is not valid percent-encoding is logged without its values', () => {
    for (const query of [`access%5token=${TOKEN}`, `access%zztoken=${TOKEN}`, `page=2&%E0%A4token=${TOKEN}`, `%=${TOKEN}`, `page=1;acc%ess_token=${TOKEN}`]) {
      assert.equal(redactUrl(`/me?${query}`), '/me?[REDACTED]', query)
    }
    // A malformed value is kept as received, as Fastify keeps it: no name hides in it.
    assert.equal(redactUrl('/search?q=100%&page=2'), '/search?q=100%&page=2')
  })

  it('returns a URL without a query as is, and keeps an ordinary query verbatim', () => {
    for (const url of ['/', '/api/todos/8f7e6d5c', '/a/b%2Fc', 'http://host/x?page=2&sort=-created&q=a+b%20c&empty=&flag', '/x?']) {
      assert.equal(redactUrl(url), url)
    }
  })

  it('property: no encoding of a secret name, suffix or separator lets a random token value through', () => {
    fc.assert(fc.property(secretParameter(), fc.constantFrom('?', ';', '#'), (parameter, start) => {
      const url = `/cb${start}${parameter.url}`
      const redacted = redactUrl(url)
      assert.ok(!redacted.includes(parameter.value), `${url} -> ${redacted}`)
      assert.ok(!redacted.includes(parameter.encodedValue), `${url} -> ${redacted}`)
      for (const kept of parameter.readable) assert.ok(redacted.includes(kept), `${kept} kept in ${url} -> ${redacted}`)
    }), PROPERTY)
  })

  it('property: redactUrl is total, and leaves a URL without ?, ; or # unchanged', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...chars('/?;#&=%[]+.ab_5Fd'), 'access_token', '%5F', '%3D', '%25'), maxLength: 60 }), (text) => {
      const url = `/p${text}`
      const redacted = redactUrl(url)
      assert.equal(typeof redacted, 'string')
      if (!/[?;#]/.test(url)) assert.equal(redacted, url)
      assert.equal(redacted.slice(0, url.search(/[?;#]|$/)), url.slice(0, url.search(/[?;#]|$/)), 'the path is kept')
    }), PROPERTY)
  })

  describe('against Fastify\'s own query parser', () => {
    const apps: FastifyInstance[] = []
    before(async () => {
      // Fastify's default (fast-querystring), and find-my-way splitting the path at `;` too.
      for (const useSemicolonDelimiter of [false, true]) {
        // Not an object literal: Fastify's type of routerOptions lacks find-my-way's useSemicolonDelimiter.
        const routerOptions = { caseSensitive: true, useSemicolonDelimiter }
        const app = Fastify({ routerOptions })
        app.get('/p', (request) => request.query)
        await app.ready()
        apps.push(app)
      }
    })
    after(async () => {
      for (const app of apps) await app.close()
    })

    const parsed = async (app: FastifyInstance, url: string): Promise<Record<string, unknown>> => {
      const response = await app.inject({ url })
      return response.statusCode === 200 ? response.json<Record<string, unknown>>() : {}
    }

    it('property: once redacted, no parameter Fastify reads under a secret name has a value', async () => {
      const unit = fc.constantFrom(...chars('&;=#?[]+%0aA_'), 'access_token', 'ACCESS', '_token', 'code', 'id_', '%5F', '%5f', '%3D', '%3B', '%26', '%61', '%25', '%2', '%20', '[]', 'v4lue')
      await fc.assert(fc.asyncProperty(fc.string({ unit, maxLength: 30 }), fc.constantFrom('?', ';'), async (query, start) => {
        const url = `/p${start}${query}`
        const redacted = redactUrl(url)
        for (const app of apps) {
          for (const [name, value] of Object.entries(await parsed(app, redacted))) {
            // A name that decodes to a secret name, maybe followed by a separator and more (`access_token=abc`
            // from `access_token%3Dabc`): neither what follows nor the value may carry anything.
            const pieces = name.split(/[&;?#=\0]/)
            const secret = pieces.findIndex(isSecretName)
            if (secret === -1) continue
            const carried = [...pieces.slice(secret + 1), ...[value].flat()]
            for (const v of carried) assert.ok(v === '' || v === '[REDACTED]', `${url} -> ${redacted}: ${name}=${String(value)}`)
          }
        }
      }), PROPERTY)
    })

    it('property: the generated secret parameters are ones Fastify reads under a secret name', async () => {
      // Shows the first property tests real cases: without redaction, Fastify would hand out the value.
      await fc.assert(fc.asyncProperty(secretParameter({ fastifyReadable: true }), async (parameter) => {
        const query = await parsed(apps[0] as FastifyInstance, `/p?${parameter.url}`)
        const values = Object.entries(query).filter(([name]) => isSecretName(name)).flatMap(([, value]) => [value].flat())
        assert.ok(values.includes(parameter.value), `${parameter.url}: ${JSON.stringify(query)}`)
      }), { ...PROPERTY, numRuns: 200 })
    })
  })

  it('keeps an encoded token out of Fastify\'s logs end to end, with the other parameters readable', () => withIssuer(async (issuer) => {
    const sink = logSink()
    const app = await buildApp(issuer, { fastify: { logger: { level: 'info', stream: sink.stream, serializers: { req: requestSerializer } } } })
    try {
      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      const response = await app.inject({ url: `/me?page=2&access%5Ftoken=${token}&lang=en` })
      // Fastify decodes the name to access_token, so the plugin refuses the token in the URL.
      assert.equal(response.statusCode, 400)
      const text = sink.text()
      for (const secret of token.split('.')) assert.ok(!text.includes(secret), 'a part of the token reached the logs')
      const urls = text.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { req?: { url?: string } }).req?.url).filter((u) => u !== undefined)
      assert.deepEqual(urls, ['/me?page=2&access%5Ftoken=[REDACTED]&lang=en'])
    } finally {
      await app.close()
    }
  }))
})

describe('the URL of a request no route matched', () => {
  const token = TOKEN
  /** The 404's body and every log line, as text. */
  async function notFound(app: FastifyInstance, text: () => string, url: string): Promise<{ status: number, body: string, logs: string }> {
    const response = await app.inject({ url })
    return { status: response.statusCode, body: response.body, logs: text() }
  }

  it('is redacted in Fastify\'s own 404 answer and its log line, the plugin registered at the root', () => withIssuer(async (issuer) => {
    const sink = logSink()
    // The request serializer keeps the token out of the `req` field: the line Fastify writes for every request.
    const app = await buildApp(issuer, { fastify: { logger: { level: 'info', stream: sink.stream, serializers: { req: requestSerializer } } } })
    try {
      for (const query of [`access_token=${token}`, `access%5Ftoken=${token}`, `%61ccess_token=${token}`, `x=1;access_token=${token}`, `t=${token}`]) {
        const { status, body, logs } = await notFound(app, sink.text, `/nope?page=2&${query}`)
        assert.equal(status, 404)
        for (const part of token.split('.')) assert.ok(!body.includes(part) && !logs.includes(part), `${query}: the token was echoed or logged`)
      }
      const { body, logs } = await notFound(app, sink.text, `/nope?page=2&access_token=${token}`)
      assert.equal((JSON.parse(body) as { message: string }).message, 'Route GET:/nope?page=2&access_token=[REDACTED] not found')
      assert.ok(logs.includes('"msg":"Route GET:/nope?page=2&access_token=[REDACTED] not found"'), logs)
      // A URL with nothing to redact is echoed as Fastify always did.
      assert.equal((JSON.parse((await notFound(app, sink.text, '/nope?page=2')).body) as { message: string }).message, 'Route GET:/nope?page=2 not found')
    } finally {
      await app.close()
    }
  }))

  it('is redacted for an application\'s own not-found handler, which still reads the parsed query', () => withIssuer(async (issuer) => {
    const app = Fastify()
    await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
    app.setNotFoundHandler((request, reply) => reply.code(404).send({ url: request.url, page: (request.query as { page?: string }).page }))
    try {
      const response = await app.inject({ url: `/nope?page=2&access_token=${token}` })
      assert.deepEqual([response.statusCode, response.json()], [404, { url: '/nope?page=2&access_token=[REDACTED]', page: '2' }])
    } finally {
      await app.close()
    }
  }))

  it('is redacted in a route group too when the application adds redactUnmatchedUrl at the root', () => withIssuer(async (issuer) => {
    async function groupApp(rootHook: boolean): Promise<FastifyInstance> {
      const app = Fastify()
      if (rootHook) app.addHook('onRequest', redactUnmatchedUrl)
      await app.register(async (group) => {
        await group.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      }, { prefix: '/api' })
      return app
    }
    const bare = await groupApp(false)
    const hooked = await groupApp(true)
    try {
      // Without it, Fastify's default answer echoes the token: what the README's Logging section warns of.
      assert.ok((await bare.inject({ url: `/api/nope?access_token=${token}` })).body.includes(token))
      assert.equal((await hooked.inject({ url: `/api/nope?access_token=${token}` })).json<{ message: string }>().message, 'Route GET:/api/nope?access_token=[REDACTED] not found')
    } finally {
      await bare.close()
      await hooked.close()
    }
  }))
})

/** The characters of an ASCII string. */
function chars(text: string): string[] {
  return text.split('')
}

/** Whether Fastify's decoded name is a secret one, with an array suffix and case ignored. */
function isSecretName(name: string): boolean {
  const bracket = name.indexOf('[')
  return redactedQueryParams.includes((bracket === -1 ? name : name.slice(0, bracket)).trim().toLowerCase())
}

interface SecretParameter {
  /** The query text: readable parameters, the secret one, more readable ones. */
  readonly url: string
  readonly value: string
  readonly encodedValue: string
  /** Parameters that must stay in the log as they are. */
  readonly readable: readonly string[]
}

const hex = (c: string, lower: boolean): string => {
  const code = c.charCodeAt(0).toString(16).padStart(2, '0')
  return `%${lower ? code : code.toUpperCase()}`
}

/**
 * A secret parameter among readable ones: any name from the list, each character kept, upper-cased or
 * percent-encoded (in either hex case, once or twice), an optional array suffix, after `&` or `;`, with a random
 * token value itself partly percent-encoded. With `fastifyReadable`, only forms Fastify decodes to the name.
 */
function secretParameter(options: { fastifyReadable?: boolean } = {}): fc.Arbitrary<SecretParameter> {
  const readable = options.fastifyReadable === true
  const charForm = fc.constantFrom(...(readable ? ['keep', 'hex', 'lowerhex'] as const : ['keep', 'upper', 'hex', 'lowerhex', 'twice'] as const))
  const name = fc.constantFrom(...redactedQueryParams).chain((secret) =>
    fc.array(charForm, { minLength: secret.length, maxLength: secret.length }).map((forms) =>
      chars(secret).map((c, i) => {
        switch (forms[i]) {
          case 'upper': return c.toUpperCase()
          case 'hex': return hex(c, false)
          case 'lowerhex': return hex(c, true)
          case 'twice': return `%25${hex(c, false).slice(1)}`
          default: return c
        }
      }).join('')))
  const value = fc.string({ unit: fc.constantFrom(...chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~')), minLength: 16, maxLength: 80 })
  const encodings = fc.array(fc.boolean(), { minLength: 80, maxLength: 80 })
  const plain = fc.array(fc.constantFrom('page=2', 'state=af0ifjsldkj', 'lang=en', 'flag', 'empty='), { maxLength: 3 })
  return fc.record({
    name,
    suffix: fc.constantFrom(...(readable ? [''] : ['', '[]', '[0]', '[a]'])),
    separator: fc.constantFrom(...(readable ? ['&'] : ['&', ';'])),
    value,
    encodings,
    before: plain,
    after: plain
  }).map(({ name, suffix, separator, value, encodings, before, after }) => {
    const encodedValue = chars(value).map((c, i) => (encodings[i] === true ? hex(c, false) : c)).join('')
    const parameter = `${name}${suffix}=${encodedValue}`
    const url = [before.length > 0 ? `${before.join('&')}${separator}${parameter}` : parameter, ...after].join('&')
    return { url, value, encodedValue, readable: [...before, ...after] }
  })
}
