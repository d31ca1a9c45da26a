/**
 * A native addon Node.js could not load (`ERR_DLOPEN_FAILED`), as one line saying what to do. The usual cause is
 * a switch of Node.js line after `npm ci`: better-sqlite3's addon (the SQLite driver, loaded when the first
 * database is opened, so during `buildApp`) was compiled for the Node.js that ran `npm ci`, and Node.js refuses
 * an addon of another ABI (its `NODE_MODULE_VERSION`). Node's own message advises `npm rebuild` over five lines;
 * `npm ci` with the right Node.js first on PATH is what rebuilds it for sure (it builds against the `node` it
 * runs with), and a corrupt or half-installed addon is fixed the same way.
 */

// Node's text (src/node_binding.cc), e.g. "The module '/app/node_modules/better-sqlite3/build/Release/
// better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This
// version of Node.js requires\nNODE_MODULE_VERSION 137. Please try re-compiling or re-installing ...". Only the
// two numbers are read; the error is recognised by its code, never by this text.
const ABI_MISMATCH = /NODE_MODULE_VERSION (\d+)\.[\s\S]*?NODE_MODULE_VERSION (\d+)\./

// The package whose addon failed: the last `node_modules/<name>` (or `node_modules/@scope/name`) of the path.
const PACKAGE = /node_modules[\\/]((?:@[^\\/\s']+[\\/])?[^\\/\s']+)[\\/]/g

/**
 * The line for a failed addon load, or `undefined` when `error` (or an error in its `cause` chain) is not
 * `ERR_DLOPEN_FAILED`. The line names the addon, both ABIs when Node's message has them and this Node.js's version
 * (`nodeVersion`, default `process.version`), and says to run `npm ci` again with this Node.js first on PATH.
 *
 * @example
 * addonLoadFailure(error)
 * // 'the SQLite driver (better-sqlite3) was built for another Node.js (NODE_MODULE_VERSION 115), not for this
 * //  Node.js v24.1.0 (NODE_MODULE_VERSION 137): run `npm ci` again with this Node.js first on PATH'
 */
export function addonLoadFailure(error: unknown, nodeVersion: string = process.version): string | undefined {
  const failure = dlopenFailure(error)
  if (failure === undefined) return undefined
  const addon = addonName(failure.message)
  const abi = ABI_MISMATCH.exec(failure.message)
  if (abi !== null) {
    const [, builtFor = '', required = ''] = abi
    return `${addon} was built for another Node.js (NODE_MODULE_VERSION ${builtFor}), not for this Node.js ${nodeVersion} ` +
      `(NODE_MODULE_VERSION ${required}): run \`npm ci\` again with this Node.js first on PATH`
  }
  const reason = failure.message.replace(/\s+/g, ' ').trim()
  return `${addon} could not be loaded (${reason}): run \`npm ci\` again with this Node.js (${nodeVersion}) first on PATH`
}

/** The first error of the `cause` chain whose code is `ERR_DLOPEN_FAILED` (a few levels, in case a loader wraps it). */
function dlopenFailure(error: unknown): Error | undefined {
  let current = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if ((current as NodeJS.ErrnoException).code === 'ERR_DLOPEN_FAILED') return current
    current = current.cause
  }
  return undefined
}

function addonName(message: string): string {
  const packages = [...message.matchAll(PACKAGE)].map((match) => match[1])
  const name = packages.at(-1)
  if (name === 'better-sqlite3') return 'the SQLite driver (better-sqlite3)'
  return name === undefined ? 'a native addon' : `the native addon of ${name}`
}
