import type { CompiledRequirement } from './requirements.js'

/**
 * One way a caller type passes a hook: the delegated scopes (`scp`) and the app roles (`roles`) it must hold,
 * both when both are given. Neither: any verified token of that caller type.
 */
export interface AccessPath {
  readonly scopes?: CompiledRequirement
  readonly roles?: CompiledRequirement
}

/**
 * What a hook of this package requires, read with {@link describeGuard}: for documentation (the OpenAPI subpath
 * builds each route's `security` from it) and for your own checks. Nothing here is consulted when a request is
 * decided; the guard's code is.
 */
export interface GuardDescription {
  /** The ways a delegated (user) caller passes, any one of them enough; empty when users are refused. */
  readonly user: readonly AccessPath[]
  /** The ways an app-only caller passes, any one of them enough; empty when app-only tokens are refused. */
  readonly app: readonly AccessPath[]
  /**
   * The ways an agent acting on its own (Microsoft Entra Agent ID, an app-only token) passes; absent when the hook
   * treats it as any app-only caller ({@link app}), as every hook but `requireByCallerType` with agent entries does.
   */
  readonly agent?: readonly AccessPath[]
  /** The ways an agent acting for a user passes; absent when the same as {@link user}'s. */
  readonly agentForUser?: readonly AccessPath[]
  /** The ways an agent's user account passes; absent when the same as {@link user}'s. */
  readonly agentUser?: readonly AccessPath[]
  /**
   * What the hook requires beyond scopes and roles, one phrase each, as its 403 would name it (for example
   * `"authentication context c1"`, `"no guest accounts"`). Empty when nothing.
   */
  readonly conditions: readonly string[]
  /** True for `authenticateOptional`: a request without credentials passes, anonymous. */
  readonly optional: boolean
}

// A WeakMap, not a property: a hook stays a plain function, and a description cannot be changed or forged.
const descriptions = new WeakMap<object, GuardDescription>()

/**
 * What a hook of this package (a guard, `fastify.entraId.authenticate`, `authenticateOptional`) requires, or
 * `undefined` for any other function.
 *
 * @example
 * ```ts
 * describeGuard(requireScopes('Todo.Read'))
 * // { user: [{ scopes: { match: 'anyOf', values: ['Todo.Read'] } }], app: [], conditions: [], optional: false }
 * ```
 */
export function describeGuard(hook: unknown): GuardDescription | undefined {
  return typeof hook === 'function' ? descriptions.get(hook) : undefined
}

/** Records what `hook` requires; returns `hook`. */
export function described<T extends object>(hook: T, description: GuardDescription): T {
  const paths = (list: readonly AccessPath[]): readonly AccessPath[] => Object.freeze(list.map((path) => Object.freeze({ ...path })))
  descriptions.set(hook, Object.freeze({
    user: paths(description.user),
    app: paths(description.app),
    ...(description.agent === undefined ? {} : { agent: paths(description.agent) }),
    ...(description.agentForUser === undefined ? {} : { agentForUser: paths(description.agentForUser) }),
    ...(description.agentUser === undefined ? {} : { agentUser: paths(description.agentUser) }),
    conditions: Object.freeze([...description.conditions]),
    optional: description.optional
  }))
  return hook
}

/** Any verified token, user or app. */
export const ANY_TOKEN: GuardDescription = Object.freeze({ user: [{}], app: [{}], conditions: [], optional: false })
