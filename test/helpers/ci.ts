/**
 * Whether the tests run in CI (`CI` set, and not to `0` or `false`): there, a test that needs a service or a
 * program the machine lacks fails instead of skipping, so CI can never pass with it silently skipped.
 */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false'
}
