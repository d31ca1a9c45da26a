/**
 * The service's configuration is missing or wrong. Its message lists every problem, one line each, naming the
 * environment variable; values are never echoed, since some (DATABASE_URL) hold secrets.
 */
export class ConfigError extends Error {
  /** One line per problem, each starting with the variable's name. */
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super(`Invalid configuration (environment variables):\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}
