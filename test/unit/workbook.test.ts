import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

interface WorkbookItem {
  type: number
  name: string
  content: { version?: string, query?: string, timeContextFromParameter?: string, parameters?: Array<{ name: string }> }
}

const workbook = JSON.parse(readFileSync(new URL('../../deploy/workbook-entra-id.json', import.meta.url), 'utf8')) as { version: string, items: WorkbookItem[] }
// The plugin's metrics are listed in its telemetry reference, the page that changes with them.
const reference = readFileSync(new URL('../../docs/reference/telemetry.md', import.meta.url), 'utf8')

test('the workbook is an Azure Monitor workbook whose queries use its time range and only metrics the telemetry reference documents', () => {
  assert.equal(workbook.version, 'Notebook/1.0')
  const parameters = new Set(workbook.items.flatMap((i) => i.content.parameters ?? []).map((p) => p.name))
  const queries = workbook.items.filter((i) => i.content.version === 'KqlItem/1.0')
  assert.ok(queries.length >= 4)
  for (const item of queries) {
    assert.ok(parameters.has(item.content.timeContextFromParameter ?? ''), `${item.name}: its time range is a parameter of the workbook`)
    for (const [, metric] of (item.content.query ?? '').matchAll(/"(entra_id\.[a-z_.]+)"/g)) {
      assert.ok(reference.includes(`\`${metric ?? ''}\``), `${item.name}: ${metric ?? ''} is in docs/reference/telemetry.md`)
    }
  }
  // The guide's three first queries are in the workbook: refusals by code, key-set fetches, slowest routes.
  for (const name of ['refusals-by-code', 'key-fetches', 'slowest-routes']) assert.ok(queries.some((i) => i.name === name), name)
})
