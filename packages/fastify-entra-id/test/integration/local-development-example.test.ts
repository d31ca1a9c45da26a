import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'

// The README's "Local development without Entra ID" program, as written there, run: what a newcomer pastes first.
const README = fileURLToPath(new URL('../../README.md', import.meta.url))
const source = (file: string): string => pathToFileURL(fileURLToPath(new URL(`../../src/${file}`, import.meta.url))).href

describe('the README\'s local development program', () => {
  it('starts, prints a curl command whose token gets 200 from the protected route, and 401 without it', async () => {
    const readme = await readFile(README, 'utf8')
    const block = /## Local development without Entra ID\n[\s\S]*?```ts\n([\s\S]*?)\n```/.exec(readme)?.[1]
    assert.ok(block !== undefined, 'the README has the program')
    assert.ok(block.includes('await app.listen({ port: 3000 })'), 'it listens on port 3000, as its curl command says')
    // The package imports point at this source tree, the port is a free one on loopback, the logger is quiet, and
    // the app is exported so that the test can close it.
    const program = block
      .replaceAll('from \'fastify\'', `from '${import.meta.resolve('fastify')}'`)
      .replaceAll('\'fastify-entra-id\'', `'${source('index.ts')}'`)
      .replaceAll('\'fastify-entra-id/testing\'', `'${source('testing/index.ts')}'`)
      .replace('Fastify({ logger: true })', 'Fastify()')
      .replace('await app.listen({ port: 3000 })', 'await app.listen({ port: 0, host: \'127.0.0.1\' })')
      .replace('console.log(', 'printed.push(') + '\nexport { app }\n'
    const dir = await mkdtemp(join(tmpdir(), 'local-development-'))
    const file = join(dir, 'program.mts')
    await writeFile(file, `export const printed: string[] = []\n${program}`)
    const { app, printed } = await import(pathToFileURL(file).href) as { app: FastifyInstance, printed: string[] }
    try {
      const command = printed.at(-1) ?? ''
      const [, path, token] = /^curl -s http:\/\/localhost:3000(\/\S+) -H "Authorization: Bearer ([\w-]+\.[\w-]+\.[\w-]+)"$/.exec(command) ?? []
      assert.ok(path !== undefined && token !== undefined, `it prints a curl command with a token: ${command.slice(0, 60)}`)
      const { port } = app.server.address() as AddressInfo
      const answer = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` } })
      assert.equal(answer.status, 200)
      const body = await answer.json() as { owner: string, todos: unknown[] }
      assert.match(body.owner, /^[0-9a-f-]{36}$/)
      assert.deepEqual(body.todos, [])
      assert.equal((await fetch(`http://127.0.0.1:${port}${path}`)).status, 401)
    } finally {
      await app.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
