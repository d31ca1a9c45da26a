/**
 * Puts a caller, a client, a session or one token on the service's deny-list. Run `npm run revoke -- --help`.
 */
// First: refuses an unsupported Node.js before any other module is evaluated (imports run in order).
import '../src/config/refuse-unsupported-node.js'
import { REVOKE_HELP, RevokeUsageError, runRevoke } from '../src/store/revoke-command.js'

try {
  process.stdout.write(`${await runRevoke(process.argv.slice(2), process.env)}\n`)
} catch (error) {
  if (!(error instanceof RevokeUsageError)) throw error
  process.stderr.write(`revoke: ${error.message}\n\n${REVOKE_HELP}`)
  process.exitCode = 2
}
