/**
 * Imported first by src/server.ts and scripts/token.ts, for its effect: on an unsupported Node.js (see
 * {@link nodeVersionProblem}) it prints one line (JSON in production) and exits 1 before any other module of the
 * program is evaluated; on a line newer than the tested ones it prints one warning line and lets the program run.
 *
 * ES modules are evaluated in the order of their imports, so imported first, this runs before the rest. It
 * imports Node.js built-ins and small modules of its own only, so nothing else is loaded before it decides. (Every
 * module of the program is parsed before any is evaluated: a syntax a Node.js cannot parse would fail before this
 * check; none of the supported code needs one on the lines it refuses.)
 */
import { reportStartFailure, reportStartWarning } from './start-failure.js'
import { nodeVersionProblem } from './supported-node.js'

const problem = nodeVersionProblem(process.versions.node)
if (problem?.action === 'refuse') {
  reportStartFailure(problem.message, { nodeVersion: process.version })
  // Exit now: returning would let the importing program's other modules run.
  process.exit(1)
}
if (problem?.action === 'warn') reportStartWarning(problem.message, { nodeVersion: process.version })
