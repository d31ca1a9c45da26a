import type { AccessPath, GuardDescription } from '../core/authorization/guard-description.js'
import type { CompiledRequirement } from '../core/authorization/requirements.js'

/** One way in: every scope and every role listed, all of them required. */
export interface Alternative {
  readonly scopes: readonly string[]
  readonly roles: readonly string[]
}

/** What a route's described hooks require together: each hook must pass, so their requirements are joined. */
export interface RouteAccess {
  /** The ways a delegated caller passes; empty when none does. */
  readonly user: readonly Alternative[]
  /** The ways an app-only caller passes; empty when none does. */
  readonly app: readonly Alternative[]
  /** The ways an agent acting on its own passes (Microsoft Entra Agent ID); empty when none does. */
  readonly agent: readonly Alternative[]
  /** The ways an agent acting for a user passes; empty when none does. */
  readonly agentForUser: readonly Alternative[]
  /** The ways an agent's user account passes; empty when none does. */
  readonly agentUser: readonly Alternative[]
  readonly conditions: readonly string[]
  /** True only when every hook lets an anonymous request through. */
  readonly optional: boolean
}

/** One OpenAPI security requirement object: scheme name to scopes (OAuth2) or role names (other schemes, 3.1). */
export type SecurityRequirement = Record<string, string[]>

const ANYONE: readonly Alternative[] = [{ scopes: [], roles: [] }]

/**
 * The access of a route guarded by all of `descriptions` (in any order): for each caller type, every
 * combination of one way through each hook, in disjunctive normal form, without alternatives another one implies.
 */
export function routeAccess(descriptions: readonly GuardDescription[]): RouteAccess {
  let user = ANYONE
  let app = ANYONE
  let agent = ANYONE
  let agentForUser = ANYONE
  let agentUser = ANYONE
  const conditions: string[] = []
  for (const description of descriptions) {
    user = product(user, alternativesOf(description.user))
    app = product(app, alternativesOf(description.app))
    // An agent type the hook does not describe passes as the callers of its token's shape do.
    agent = product(agent, alternativesOf(description.agent ?? description.app))
    agentForUser = product(agentForUser, alternativesOf(description.agentForUser ?? description.user))
    agentUser = product(agentUser, alternativesOf(description.agentUser ?? description.user))
    for (const condition of description.conditions) if (!conditions.includes(condition)) conditions.push(condition)
  }
  return { user, app, agent, agentForUser, agentUser, conditions, optional: descriptions.length > 0 && descriptions.every((d) => d.optional) }
}

function alternativesOf(paths: readonly AccessPath[]): Alternative[] {
  return paths.flatMap((path) => {
    const scopeSets = setsOf(path.scopes)
    const roleSets = setsOf(path.roles)
    return scopeSets.flatMap((scopes) => roleSets.map((roles) => ({ scopes, roles })))
  })
}

// anyOf: any one value is a way in; allOf: one way in with every value.
function setsOf(requirement: CompiledRequirement | undefined): string[][] {
  if (requirement === undefined) return [[]]
  return requirement.match === 'anyOf' ? requirement.values.map((v) => [v]) : [[...requirement.values]]
}

function product(left: readonly Alternative[], right: readonly Alternative[]): Alternative[] {
  const joined: Alternative[] = []
  for (const a of left) {
    for (const b of right) joined.push({ scopes: union(a.scopes, b.scopes), roles: union(a.roles, b.roles) })
  }
  return minimal(joined)
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])]
}

/** Drops duplicates and every alternative that needs more than another one does (it adds no way in). */
function minimal(alternatives: readonly Alternative[]): Alternative[] {
  const kept: Alternative[] = []
  alternatives.forEach((candidate, index) => {
    const implied = alternatives.some((other, otherIndex) => otherIndex !== index && within(other, candidate) &&
      (!within(candidate, other) || otherIndex < index))
    if (!implied) kept.push(candidate)
  })
  return kept
}

function within(small: Alternative, large: Alternative): boolean {
  return small.scopes.every((s) => large.scopes.includes(s)) && small.roles.every((r) => large.roles.includes(r))
}

/** How {@link securityOf} names and fills the requirements. */
export interface SecurityNaming {
  /** The OAuth2 scheme's name, or `null` when the document has none. */
  readonly oauth2: string | null
  /** The bearer scheme's name. */
  readonly bearer: string
  /** Prepended to each scope: `api://<clientId>/`. */
  readonly scopePrefix: string
  /** OpenAPI 3.1 and later: a bearer requirement may list role names. 3.0 requires its list empty. */
  readonly rolesInRequirements: boolean
}

/**
 * The operation's `security`: alternatives, any one enough. Delegated ways in become OAuth2 requirements with
 * their full scope strings (all scopes within one requirement are needed, so `anyOf` gives one requirement per
 * scope). A pasted bearer token serves every caller type: its requirement lists the app roles only when every
 * way in needs one. An optional route adds the empty requirement `{}`.
 */
export function securityOf(access: RouteAccess, naming: SecurityNaming): SecurityRequirement[] {
  const requirements: SecurityRequirement[] = []
  const add = (requirement: SecurityRequirement): void => {
    const key = JSON.stringify(requirement)
    if (!requirements.some((r) => JSON.stringify(r) === key)) requirements.push(requirement)
  }
  // Agents acting for a user or through their user account hold delegated tokens, as users do; an agent acting
  // on its own holds an app-only token, as an application does.
  const delegated = [...access.user, ...access.agentForUser, ...access.agentUser]
  if (naming.oauth2 !== null) {
    for (const way of delegated) add({ [naming.oauth2]: way.scopes.map((s) => naming.scopePrefix + s) })
  }
  const ways = [...delegated, ...access.app, ...access.agent]
  if (!naming.rolesInRequirements || ways.length === 0 || ways.some((way) => way.roles.length === 0)) {
    add({ [naming.bearer]: [] })
  } else {
    for (const way of ways) add({ [naming.bearer]: [...way.roles] })
  }
  if (access.optional) add({})
  return requirements
}

/** Who passes, in one paragraph of Markdown, for the operation's description. */
export function accessSentence(access: RouteAccess): string {
  const sentences: string[] = []
  const anyUser = isAnyone(access.user)
  const anyApp = isAnyone(access.app)
  if ([access.user, access.app, access.agent, access.agentForUser, access.agentUser].every((ways) => ways.length === 0)) {
    sentences.push('No token can satisfy every guard of this operation.')
  } else if (anyUser && anyApp) {
    sentences.push('Any valid access token for this API.')
  } else {
    sentences.push(access.user.length === 0
      ? 'Delegated (user) tokens are refused.'
      : anyUser ? 'Any signed-in user.' : `Users need ${waysPhrase(access.user)}.`)
    sentences.push(access.app.length === 0
      ? 'App-only tokens are refused.'
      : anyApp ? 'Any application calling as itself.' : `Applications calling as themselves need ${waysPhrase(access.app)}.`)
  }
  sentences.push(...agentSentences(access))
  if (access.conditions.length > 0) sentences.push(`Also required: ${access.conditions.join('; ')}.`)
  if (access.optional) {
    sentences.push('The token is optional: without one the operation answers anonymously, and a token that is sent must be valid.')
  }
  return sentences.join(' ')
}

// How the description names each agent type, and the caller type whose token shape it shares.
const AGENT_TYPES = [
  { type: 'agent', shape: 'app', name: 'Agents acting on their own' },
  { type: 'agentForUser', shape: 'user', name: 'Agents acting for a user' },
  { type: 'agentUser', shape: 'user', name: 'Agents\' user accounts' }
] as const

/** A sentence for each agent type that this route treats otherwise than the callers of its token's shape. */
function agentSentences(access: RouteAccess): string[] {
  const sentences: string[] = []
  for (const { type, shape, name } of AGENT_TYPES) {
    const ways = access[type]
    if (sameWays(ways, access[shape])) continue
    sentences.push(ways.length === 0 ? `${name} (Microsoft Entra Agent ID) are refused.`
      : isAnyone(ways) ? `${name} (Microsoft Entra Agent ID) need any valid token.`
        : `${name} (Microsoft Entra Agent ID) need ${waysPhrase(ways)}.`)
  }
  return sentences
}

function sameWays(a: readonly Alternative[], b: readonly Alternative[]): boolean {
  return a.length === b.length && a.every((way) => b.some((other) => within(way, other) && within(other, way)))
}

function isAnyone(ways: readonly Alternative[]): boolean {
  return ways.some((way) => way.scopes.length === 0 && way.roles.length === 0)
}

function waysPhrase(ways: readonly Alternative[]): string {
  if (ways.length === 1) return wayPhrase(ways[0] as Alternative)
  if (ways.every((way) => way.scopes.length === 1 && way.roles.length === 0)) {
    return `one of the delegated scopes ${ways.map((way) => code(way.scopes[0] ?? '')).join(', ')}`
  }
  if (ways.every((way) => way.roles.length === 1 && way.scopes.length === 0)) {
    return `one of the app roles ${ways.map((way) => code(way.roles[0] ?? '')).join(', ')}`
  }
  return `one of: ${ways.map(wayPhrase).join('; ')}`
}

function wayPhrase(way: Alternative): string {
  const parts: string[] = []
  if (way.scopes.length > 0) parts.push(`the delegated ${way.scopes.length === 1 ? 'scope' : 'scopes'} ${and(way.scopes)}`)
  if (way.roles.length > 0) parts.push(`the app ${way.roles.length === 1 ? 'role' : 'roles'} ${and(way.roles)}`)
  return parts.join(' and ')
}

function and(names: readonly string[]): string {
  const coded = names.map(code)
  return coded.length <= 1 ? coded.join('') : `${coded.slice(0, -1).join(', ')} and ${coded[coded.length - 1] ?? ''}`
}

function code(name: string): string {
  return `\`${name}\``
}

/** True when a caller with a verified token can still be refused (403). */
export function canForbid(access: RouteAccess): boolean {
  return access.conditions.length > 0 || !isAnyone(access.user) || !isAnyone(access.app) || !isAnyone(access.agent) ||
    !isAnyone(access.agentForUser) || !isAnyone(access.agentUser)
}
