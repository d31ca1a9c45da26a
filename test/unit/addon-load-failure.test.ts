import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { addonLoadFailure } from '../../src/config/addon-load-failure.js'

const ADDON = '/home/ada/todo/node_modules/better-sqlite3/build/Release/better_sqlite3.node'

/** An error as Node.js throws it when an addon cannot be loaded: code ERR_DLOPEN_FAILED, no other property. */
function dlopenError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_DLOPEN_FAILED' })
}

// Node's text, as Node 20 printed it loading the addon `npm ci` built under Node 24 (the two numbers swapped here:
// built for 20, run on 24).
const ABI_MISMATCH = `The module '${ADDON}'
was compiled against a different Node.js version using
NODE_MODULE_VERSION 115. This version of Node.js requires
NODE_MODULE_VERSION 137. Please try re-compiling or re-installing
the module (for instance, using \`npm rebuild\` or \`npm install\`).`

describe('addonLoadFailure: a native addon that would not load, as one line', () => {
  test('the SQLite driver built for another Node.js: both NODE_MODULE_VERSIONs, this Node.js, and npm ci', () => {
    assert.equal(addonLoadFailure(dlopenError(ABI_MISMATCH), 'v24.11.0'),
      'the SQLite driver (better-sqlite3) was built for another Node.js (NODE_MODULE_VERSION 115), not for this ' +
      'Node.js v24.11.0 (NODE_MODULE_VERSION 137): run `npm ci` again with this Node.js first on PATH')
  })

  test('a corrupt addon: Node\'s reason on the same line, and npm ci with this Node.js', () => {
    assert.equal(addonLoadFailure(dlopenError(`${ADDON}: file too short`), 'v22.12.0'),
      `the SQLite driver (better-sqlite3) could not be loaded (${ADDON}: file too short): ` +
      'run `npm ci` again with this Node.js (v22.12.0) first on PATH')
  })

  test('another package\'s addon is named by its package, a scoped one with its scope', () => {
    const line = addonLoadFailure(dlopenError("/srv/node_modules/@acme/fast-hash/node_modules/@acme/native/build/x.node: invalid ELF header"), 'v24.0.0')
    assert.equal(line, 'the native addon of @acme/native could not be loaded (/srv/node_modules/@acme/fast-hash/node_modules/@acme/native/build/x.node: ' +
      'invalid ELF header): run `npm ci` again with this Node.js (v24.0.0) first on PATH')
  })

  test('a multi-line message of another shape becomes one line', () => {
    const line = addonLoadFailure(dlopenError(`Module did not self-register:\n'${ADDON}'.`), 'v24.0.0')
    assert.ok(line !== undefined && !line.includes('\n'), line)
    assert.match(line, /^the SQLite driver \(better-sqlite3\) could not be loaded \(Module did not self-register: '.*'\.\): run `npm ci` again/)
  })

  test('found as the cause of a wrapping error', () => {
    const wrapped = new Error('plugin store failed', { cause: dlopenError(ABI_MISMATCH) })
    assert.match(addonLoadFailure(wrapped, 'v24.0.0') ?? '', /^the SQLite driver \(better-sqlite3\) was built for another Node\.js/)
  })

  test('anything else is not its business: undefined', () => {
    assert.equal(addonLoadFailure(new Error(ABI_MISMATCH)), undefined)
    assert.equal(addonLoadFailure(Object.assign(new Error('no such file'), { code: 'ENOENT' })), undefined)
    assert.equal(addonLoadFailure('ERR_DLOPEN_FAILED'), undefined)
    assert.equal(addonLoadFailure(undefined), undefined)
  })
})
