import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { ENGINES, bearer, startHarness } from '../helpers/app.js'
import type { Harness } from '../helpers/app.js'
import { skipWithoutPostgres } from '../helpers/postgres.js'

interface TodoBody { id: string, title: string }
interface PageBody { items: TodoBody[] }
interface ErrorBody { statusCode: number, message: string }

const REFUSED = 'must not contain control characters, line breaks, lone surrogates or noncharacters'

/** Text no field may hold, by name: each is refused with a 400 naming the field, on both engines alike. */
const FORBIDDEN: readonly [string, string][] = [
  ['NUL (U+0000), which PostgreSQL text cannot hold', 'a\u0000b'],
  ['a tab', 'a\tb'],
  ['a line feed', 'first line\nsecond line'],
  ['a carriage return', 'a\rb'],
  ['U+001F', 'a\u001Fb'],
  ['DEL (U+007F)', 'a\u007Fb'],
  ['a C1 control (U+0085, next line)', 'a\u0085b'],
  ['U+009F', 'a\u009Fb'],
  ['the line separator U+2028', 'a\u2028b'],
  ['the paragraph separator U+2029', 'a\u2029b'],
  ['a lone high surrogate', 'a\uD800b'],
  ['a lone low surrogate', 'a\uDC00b'],
  ['a high surrogate at the end', 'ab\uDBFF'],
  ['the noncharacter U+FFFE', 'a\uFFFEb'],
  ['the noncharacter U+FFFF', 'a\uFFFFb']
]

/** Text every field keeps exactly as sent. */
const KEPT: readonly string[] = ['café', '日本語', 'emoji 😀 and 👩‍👩‍👧', 'no-break\u00A0space', 'U+00A0 is not U+0085', 'quotes \' " \\ and %00']

/** An independent statement of the rule, by code point: what the tests expect the API to refuse. */
function forbidden(text: string): boolean {
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F) || cp === 0x2028 || cp === 0x2029 || (cp >= 0xD800 && cp <= 0xDFFF) || cp === 0xFFFE || cp === 0xFFFF) return true
  }
  return false
}

for (const engine of ENGINES) {
  describe(`text input (${engine})`, { skip: engine === 'postgres' ? skipWithoutPostgres() : false }, () => {
    let h: Harness
    let writer: string
    before(async () => {
      h = await startHarness(engine)
      writer = await h.callers.user(h.callers.alice, ['Todo.Read', 'Todo.Write'])
    })
    after(async () => { await h.close() })

    async function titles(): Promise<string[]> {
      const res = await h.app.inject({ url: '/api/todos?limit=100', headers: bearer(writer) })
      assert.equal(res.statusCode, 200, res.body)
      return res.json<PageBody>().items.map((t) => t.title)
    }

    for (const [name, text] of FORBIDDEN) {
      test(`POST refuses a title with ${name}: 400 naming body/title, nothing stored`, async () => {
        const before = await titles()
        const res = await h.app.inject({ method: 'POST', url: '/api/todos', headers: bearer(writer), payload: { title: text } })
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(res.json<ErrorBody>().message, `body/title ${REFUSED}`)
        assert.deepEqual(await titles(), before)
      })
    }

    test('PATCH refuses every such title with the same 400, and the todo keeps its title', async () => {
      const created = await h.app.inject({ method: 'POST', url: '/api/todos', headers: bearer(writer), payload: { title: 'Unchanged' } })
      assert.equal(created.statusCode, 201)
      const { id } = created.json<TodoBody>()
      for (const [name, text] of FORBIDDEN) {
        const res = await h.app.inject({ method: 'PATCH', url: `/api/todos/${id}`, headers: bearer(writer), payload: { title: text, done: true } })
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`)
        assert.equal(res.json<ErrorBody>().message, `body/title ${REFUSED}`)
      }
      const read = await h.app.inject({ url: `/api/todos/${id}`, headers: bearer(writer) })
      assert.deepEqual([read.json<TodoBody & { done: boolean }>().title, read.json<TodoBody & { done: boolean }>().done], ['Unchanged', false])
    })

    test('keeps non-ASCII titles, astral characters and emoji sequences exactly as sent', async () => {
      for (const title of KEPT) {
        const res = await h.app.inject({ method: 'POST', url: '/api/todos', headers: bearer(writer), payload: { title } })
        assert.equal(res.statusCode, 201, res.body)
        const read = await h.app.inject({ url: `/api/todos/${res.json<TodoBody>().id}`, headers: bearer(writer) })
        assert.equal(read.json<TodoBody>().title, title)
      }
    })

    test('query strings with control characters are 400 naming the parameter: cursor, owner', async () => {
      const app = await h.callers.app(['Todo.Read.All'])
      const cases: [string, string, RegExp][] = [
        ['/api/todos?cursor=abc%00def', writer, /^querystring\/cursor must match pattern/],
        ['/api/todos?cursor=abc%0Adef', writer, /^querystring\/cursor must match pattern/],
        [`/api/todos?owner=${h.callers.bob}%00`, app, /^querystring\/owner must match format "uuid"/],
        ['/api/todos/00000000-0000-4000-8000-00000000000%00', writer, /^params\/id must match format "uuid"/]
      ]
      for (const [url, token, message] of cases) {
        const res = await h.app.inject({ url, headers: bearer(token) })
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`)
        assert.match(res.json<ErrorBody>().message, message)
      }
    })

    test('property: any title is stored exactly as sent or refused with a 400, never a 500', async () => {
      const codePoint = fc.integer({ min: 0, max: 0x10FFFF }).map((cp) => String.fromCodePoint(cp))
      const codeUnit = fc.integer({ min: 0, max: 0xFFFF }).map((cu) => String.fromCharCode(cu))
      const special = fc.constantFrom('\u0000', '\t', '\n', '\u007F', '\u0085', '\u2028', '\uD83D', '\uDE00', '\uFFFE', ' ', 'a')
      const title = fc.array(fc.oneof(codePoint, codeUnit, special), { minLength: 1, maxLength: 12 }).map((parts) => parts.join(''))
      await fc.assert(fc.asyncProperty(title, async (text) => {
        const res = await h.app.inject({ method: 'POST', url: '/api/todos', headers: bearer(writer), payload: { title: text } })
        if (forbidden(text) || !/\S/u.test(text)) {
          assert.equal(res.statusCode, 400, res.body)
          return
        }
        assert.equal(res.statusCode, 201, res.body)
        const read = await h.app.inject({ url: `/api/todos/${res.json<TodoBody>().id}`, headers: bearer(writer) })
        assert.equal(read.json<TodoBody>().title, text)
      }), { numRuns: 80, plugins: [fc.interruptAfterTimeLimit(15_000)] })
    })
  })
}
