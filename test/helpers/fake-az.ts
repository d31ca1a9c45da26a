/**
 * A stand-in for the Azure CLI, for testing `scripts/register-entra.sh` without a tenant: `az account show` and
 * `az rest` against an in-memory Microsoft Graph (applications and service principals) kept in a JSON file
 * between calls. Every request body is checked against Microsoft Graph's documented application resource
 * (https://learn.microsoft.com/graph/api/resources/application, apiApplication, permissionScope, appRole,
 * preAuthorizedApplication, spaApplication, requiredResourceAccess) and the rules Graph enforces; a bad body gets
 * the 400 Graph would answer. Anything the fake does not know (another command, option or URL) exits with 2 and
 * says so. It never opens a socket.
 *
 * The file is both the program (run by Node directly, with type stripping: only `node:` imports and erasable
 * syntax here) and the test's handle on it ({@link installFakeAz}).
 */
import { randomUUID } from 'node:crypto'
import { appendFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** A permissionScope (delegated permission), as Graph stores it. */
export interface Scope {
  id: string
  value: string
  type: string
  isEnabled: boolean
  adminConsentDisplayName: string
  adminConsentDescription: string
  userConsentDisplayName?: string | null
  userConsentDescription?: string | null
  origin?: string
}

/** An appRole, as Graph stores it. */
export interface AppRole {
  id: string
  value: string
  allowedMemberTypes: string[]
  displayName: string
  description: string
  isEnabled: boolean
  origin?: string
}

/** The parts of Graph's application resource the fake keeps. */
export interface Application {
  id: string
  appId: string
  displayName: string
  signInAudience: string
  identifierUris: string[]
  api: {
    acceptMappedClaims: boolean | null
    knownClientApplications: string[]
    requestedAccessTokenVersion: number | null
    oauth2PermissionScopes: Scope[]
    preAuthorizedApplications: { appId: string, delegatedPermissionIds: string[] }[]
  }
  appRoles: AppRole[]
  spa: { redirectUris: string[] }
  requiredResourceAccess: { resourceAppId: string, resourceAccess: { id: string, type: string }[] }[]
}

/** The fake tenant: what `az` sees, saved between calls. */
export interface FakeTenant {
  tenantId: string
  /** `false`: `az account show` fails as it does before `az login`. */
  loggedIn: boolean
  applications: Application[]
  servicePrincipals: { id: string, appId: string, displayName: string }[]
  /** Entra's replication delay: the first write naming an object created since answers 404 once. */
  replicationLag: boolean
  /** Object IDs and app IDs not replicated yet. */
  lagging: string[]
  /** The tenant's verified domains (an https identifier URI on one is accepted for any registration). Default none. */
  verifiedDomains?: string[]
}

/** One `az` invocation, as recorded. */
export interface FakeCall {
  args: string[]
  method?: string
  /** The URL path and query, decoded. */
  path?: string
  body?: unknown
  /** The HTTP status answered (0 for `az account show`, -1 for a call the fake refused). */
  status: number
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// permissionScope.value and appRole.value: at most 120 characters from this set, not starting with a dot.
const PERMISSION_VALUE = /^[A-Za-z0-9:!#$%&'()*+,\-./;<=>?@[\]^_`{|}~]{1,120}$/
const MICROSOFT_GRAPH = '00000003-0000-0000-c000-000000000000'
const AUDIENCES = ['AzureADMyOrg', 'AzureADMultipleOrgs', 'AzureADandPersonalMicrosoftAccount', 'PersonalMicrosoftAccount']
// Writable properties of the application resource (v1.0); read-only ones (id, appId, publisherDomain...) are refused.
const APPLICATION_KEYS = ['api', 'appRoles', 'description', 'displayName', 'groupMembershipClaims', 'identifierUris', 'info',
  'isFallbackPublicClient', 'notes', 'optionalClaims', 'publicClient', 'requiredResourceAccess', 'signInAudience', 'spa', 'tags', 'web']
const API_KEYS = ['acceptMappedClaims', 'knownClientApplications', 'oauth2PermissionScopes', 'preAuthorizedApplications', 'requestedAccessTokenVersion']
const SCOPE_KEYS = ['adminConsentDescription', 'adminConsentDisplayName', 'id', 'isEnabled', 'type', 'userConsentDescription', 'userConsentDisplayName', 'value']
const ROLE_KEYS = ['allowedMemberTypes', 'description', 'displayName', 'id', 'isEnabled', 'value']

/** A request Graph would refuse: the status and the message it answers with. */
class GraphError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** A call the fake does not know: the test's script is doing something it was not written for. */
class Unexpected extends Error {}

const bad = (message: string): GraphError => new GraphError(400, 'Request_BadRequest', message)
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const isString = (v: unknown): v is string => typeof v === 'string'

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (key === 'accessTokenAcceptedVersion') {
      throw bad(`Property '${key}' does not exist on ${where}: that is the Azure AD Graph manifest's name; Microsoft Graph's is api.requestedAccessTokenVersion`)
    }
    if (key === 'origin') throw bad(`Property 'origin' of ${where} is read-only`)
    if (!allowed.includes(key)) throw bad(`Invalid property '${key}' on ${where}`)
  }
}

function checkScope(s: unknown, i: number): Scope {
  const where = `api.oauth2PermissionScopes[${i}]`
  if (!isObject(s)) throw bad(`${where} must be an object`)
  onlyKeys(s, SCOPE_KEYS, where)
  if (!isString(s.id) || !GUID.test(s.id)) throw bad(`${where}.id must be a GUID`)
  if (!isString(s.value) || !PERMISSION_VALUE.test(s.value) || s.value.startsWith('.')) throw bad(`${where}.value is not a valid permission value`)
  if (s.type !== 'User' && s.type !== 'Admin') throw bad(`${where}.type must be User or Admin`)
  if (typeof s.isEnabled !== 'boolean') throw bad(`${where}.isEnabled must be a boolean`)
  for (const key of ['adminConsentDisplayName', 'adminConsentDescription']) {
    if (!isString(s[key]) || s[key] === '') throw bad(`${where}.${key} is required`)
  }
  for (const key of ['userConsentDisplayName', 'userConsentDescription']) {
    if (s[key] !== undefined && s[key] !== null && !isString(s[key])) throw bad(`${where}.${key} must be a string`)
  }
  return s as unknown as Scope
}

function checkRole(r: unknown, i: number): AppRole {
  const where = `appRoles[${i}]`
  if (!isObject(r)) throw bad(`${where} must be an object`)
  onlyKeys(r, ROLE_KEYS, where)
  if (!isString(r.id) || !GUID.test(r.id)) throw bad(`${where}.id must be a GUID`)
  if (!isString(r.value) || !PERMISSION_VALUE.test(r.value) || r.value.startsWith('.')) throw bad(`${where}.value is not a valid permission value`)
  const types = r.allowedMemberTypes
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => t === 'User' || t === 'Application')) {
    throw bad(`${where}.allowedMemberTypes must list User and/or Application`)
  }
  if (!isString(r.displayName) || r.displayName === '' || !isString(r.description) || r.description === '') {
    throw bad(`${where}.displayName and description are required`)
  }
  if (typeof r.isEnabled !== 'boolean') throw bad(`${where}.isEnabled must be a boolean`)
  return r as unknown as AppRole
}

/** Graph's rule: an enabled permission is neither removed nor changed in value; disable it first. */
function checkKept(before: readonly (Scope | AppRole)[], after: readonly (Scope | AppRole)[], what: string): void {
  for (const old of before.filter((p) => p.isEnabled)) {
    const now = after.find((p) => p.id === old.id)
    if (now === undefined || now.value !== old.value) {
      throw bad(`Permission (scope or role) cannot be deleted or updated unless disabled first (${what} ${old.value}, id ${old.id})`)
    }
  }
}

function unique(values: readonly string[], what: string): void {
  const seen = new Set<string>()
  for (const v of values) {
    if (seen.has(v.toLowerCase())) throw bad(`${what} ${v} appears twice`)
    seen.add(v.toLowerCase())
  }
}

function checkRedirectUri(uri: unknown): string {
  if (!isString(uri)) throw bad('spa.redirectUris must be strings')
  let url: URL
  try { url = new URL(uri) } catch { throw bad(`redirect URI ${uri} is not an absolute URI`) }
  const local = url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '127.0.0.1')
  if (url.protocol !== 'https:' && !local) throw bad(`redirect URI ${uri} must use https (http only for localhost)`)
  if (url.hash !== '' || uri.length > 256) throw bad(`redirect URI ${uri} must have no fragment and at most 256 characters`)
  return uri
}

/**
 * Graph's rules for an identifier URI (Application ID URI), as Microsoft documents them ("Restrictions on
 * identifier URIs of Microsoft Entra applications"): no final `/`; `api://<this appId>`, so only once the appId
 * exists; an `https` URI on a verified domain of the tenant or a subdomain of one; any `https` host for a
 * single-tenant registration that asks for v2 tokens (whose `aud` is the appId whatever the URI), judged on the
 * registration as saved before this request (whether Graph also counts a version set in the same request is not
 * documented: the script sets it in an earlier one). Other `api://` forms are not faked.
 */
function checkIdentifierUri(tenant: FakeTenant, uri: string, current: Application | undefined): void {
  if (uri.endsWith('/')) throw bad(`Application alias '${uri}' value is invalid: an identifier URI must not end with a slash`)
  if (current !== undefined && uri === `api://${current.appId}`) return
  let url: URL | undefined
  try { url = new URL(uri) } catch { url = undefined }
  if (current !== undefined && url?.protocol === 'https:' && url.username === '' && url.search === '' && url.hash === '') {
    const host = url.hostname
    const verified = (tenant.verifiedDomains ?? []).some((d) => host === d || host.endsWith(`.${d}`))
    const exempt = current.signInAudience === 'AzureADMyOrg' && current.api.requestedAccessTokenVersion === 2
    if (verified || exempt) return
  }
  throw new GraphError(400, 'HostNameNotOnVerifiedDomain', `Values of identifierUris property must use a verified domain of the organization or its subdomain, or api://${current?.appId ?? '<appId>'}: ${uri}`)
}

/** Checks a POST (`current` undefined) or PATCH body; returns the application it makes. */
function applyApplicationBody(tenant: FakeTenant, body: unknown, current: Application | undefined): Application {
  if (!isObject(body)) throw bad('the body must be a JSON object')
  onlyKeys(body, APPLICATION_KEYS, 'application')
  const app: Application = current === undefined
    ? {
        id: randomUUID(),
        appId: randomUUID(),
        displayName: '',
        signInAudience: 'AzureADMyOrg',
        identifierUris: [],
        api: { acceptMappedClaims: null, knownClientApplications: [], requestedAccessTokenVersion: null, oauth2PermissionScopes: [], preAuthorizedApplications: [] },
        appRoles: [],
        spa: { redirectUris: [] },
        requiredResourceAccess: []
      }
    : structuredClone(current)
  if (current === undefined && (!isString(body.displayName) || body.displayName === '')) throw bad('displayName is required')
  if (body.displayName !== undefined) {
    if (!isString(body.displayName) || body.displayName === '') throw bad('displayName must be a non-empty string')
    app.displayName = body.displayName
  }
  if (body.signInAudience !== undefined) {
    if (!isString(body.signInAudience) || !AUDIENCES.includes(body.signInAudience)) throw bad(`signInAudience must be one of ${AUDIENCES.join(', ')}`)
    app.signInAudience = body.signInAudience
  }

  const before = current?.api.oauth2PermissionScopes ?? []
  if (body.api !== undefined) {
    const api = body.api
    if (!isObject(api)) throw bad('api must be an object')
    onlyKeys(api, API_KEYS, 'api')
    // A complex property is replaced as a whole: what the body leaves out is reset.
    const scopes = api.oauth2PermissionScopes ?? []
    if (!Array.isArray(scopes)) throw bad('api.oauth2PermissionScopes must be an array')
    const version = api.requestedAccessTokenVersion ?? null
    if (version !== null && version !== 1 && version !== 2) throw bad('api.requestedAccessTokenVersion must be 1, 2 or null')
    const pre = api.preAuthorizedApplications ?? []
    if (!Array.isArray(pre)) throw bad('api.preAuthorizedApplications must be an array')
    const known = api.knownClientApplications ?? []
    if (!Array.isArray(known) || !known.every((k) => isString(k) && GUID.test(k))) throw bad('api.knownClientApplications must be GUIDs')
    const acceptMappedClaims = api.acceptMappedClaims ?? null
    if (acceptMappedClaims !== null && typeof acceptMappedClaims !== 'boolean') throw bad('api.acceptMappedClaims must be a boolean')
    app.api = {
      acceptMappedClaims,
      knownClientApplications: known as string[],
      requestedAccessTokenVersion: version,
      oauth2PermissionScopes: scopes.map(checkScope),
      preAuthorizedApplications: pre.map((p: unknown, i) => {
        const where = `api.preAuthorizedApplications[${i}]`
        if (!isObject(p)) throw bad(`${where} must be an object`)
        if ('permissionIds' in p) throw bad(`Invalid property 'permissionIds' on ${where}: v1.0 names it delegatedPermissionIds`)
        onlyKeys(p, ['appId', 'delegatedPermissionIds'], where)
        const ids = p.delegatedPermissionIds
        if (!isString(p.appId) || !GUID.test(p.appId)) throw bad(`${where}.appId must be a GUID`)
        if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => isString(id) && GUID.test(id))) throw bad(`${where}.delegatedPermissionIds must be GUIDs`)
        for (const id of ids as string[]) {
          // Graph checks pre-authorizations against the scopes already saved, not those of the same request.
          if (!before.some((s) => s.id === id)) {
            throw bad(`Property api.preAuthorizedApplications.delegatedPermissionIds has a Permission Id that cannot be found in the AppPermissions sets (${id})`)
          }
        }
        return { appId: p.appId, delegatedPermissionIds: ids as string[] }
      })
    }
    checkKept(before, app.api.oauth2PermissionScopes, 'scope')
    unique(app.api.oauth2PermissionScopes.map((s) => s.id), 'scope id')
    unique(app.api.oauth2PermissionScopes.map((s) => s.value), 'scope value')
    unique(app.api.preAuthorizedApplications.map((p) => p.appId), 'pre-authorized appId')
  }
  if (body.appRoles !== undefined) {
    if (!Array.isArray(body.appRoles)) throw bad('appRoles must be an array')
    const roles = body.appRoles.map(checkRole)
    checkKept(current?.appRoles ?? [], roles, 'app role')
    unique(roles.map((r) => r.id), 'app role id')
    unique(roles.map((r) => r.value), 'app role value')
    app.appRoles = roles
  }
  for (const role of app.appRoles) {
    const scope = app.api.oauth2PermissionScopes.find((s) => s.id === role.id)
    if (scope !== undefined && scope.value !== role.value) throw bad(`id ${role.id} is used by the scope ${scope.value} and the app role ${role.value}`)
  }
  if (body.identifierUris !== undefined) {
    if (!Array.isArray(body.identifierUris) || !body.identifierUris.every(isString)) throw bad('identifierUris must be strings')
    for (const uri of body.identifierUris) checkIdentifierUri(tenant, uri, current)
    unique(body.identifierUris, 'identifier URI')
    app.identifierUris = body.identifierUris
  }
  if (body.spa !== undefined) {
    if (!isObject(body.spa)) throw bad('spa must be an object')
    onlyKeys(body.spa, ['redirectUris'], 'spa')
    const uris = body.spa.redirectUris ?? []
    if (!Array.isArray(uris)) throw bad('spa.redirectUris must be an array')
    app.spa = { redirectUris: uris.map(checkRedirectUri) }
    unique(app.spa.redirectUris, 'redirect URI')
  }
  if (body.requiredResourceAccess !== undefined) {
    const list = body.requiredResourceAccess
    if (!Array.isArray(list)) throw bad('requiredResourceAccess must be an array')
    app.requiredResourceAccess = list.map((r: unknown, i) => {
      const where = `requiredResourceAccess[${i}]`
      if (!isObject(r)) throw bad(`${where} must be an object`)
      onlyKeys(r, ['resourceAppId', 'resourceAccess'], where)
      if (!isString(r.resourceAppId) || !GUID.test(r.resourceAppId)) throw bad(`${where}.resourceAppId must be a GUID`)
      const resource = tenant.applications.find((a) => a.appId === r.resourceAppId)
      if (resource === undefined && r.resourceAppId !== MICROSOFT_GRAPH) throw bad(`${where}.resourceAppId ${r.resourceAppId} is no application of the tenant`)
      if (!Array.isArray(r.resourceAccess) || r.resourceAccess.length === 0) throw bad(`${where}.resourceAccess must be a non-empty array`)
      const access = r.resourceAccess.map((a: unknown) => {
        if (!isObject(a)) throw bad(`${where}.resourceAccess entries must be objects`)
        onlyKeys(a, ['id', 'type'], `${where}.resourceAccess`)
        if (!isString(a.id) || !GUID.test(a.id) || (a.type !== 'Scope' && a.type !== 'Role')) throw bad(`${where}.resourceAccess entries need a GUID id and type Scope or Role`)
        if (resource !== undefined) {
          const defined = a.type === 'Scope' ? resource.api.oauth2PermissionScopes : resource.appRoles
          if (!defined.some((p) => p.id === a.id)) throw bad(`${where}: ${a.type} ${a.id} is not defined by ${resource.displayName}`)
        }
        return { id: a.id, type: a.type }
      })
      unique(access.map((a) => a.id), `${where} permission`)
      return { resourceAppId: r.resourceAppId, resourceAccess: access }
    })
    unique(app.requiredResourceAccess.map((r) => r.resourceAppId), 'requiredResourceAccess resourceAppId')
  }
  return app
}

/** The application as Graph returns it: permissions carry their read-only `origin`. */
function present(app: Application): unknown {
  return {
    '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#applications/$entity',
    ...app,
    publisherDomain: 'contoso.onmicrosoft.com',
    api: { ...app.api, oauth2PermissionScopes: app.api.oauth2PermissionScopes.map((s) => ({ ...s, origin: 'Application' })) },
    appRoles: app.appRoles.map((r) => ({ ...r, origin: 'Application' }))
  }
}

function notFound(what: string): GraphError {
  return new GraphError(404, 'Request_ResourceNotFound', `Resource '${what}' does not exist or one of its queried reference-property objects are not present.`)
}

/** A write naming an object Entra has not replicated yet fails once, as it does right after creation. */
function replicated(tenant: FakeTenant, id: string): void {
  const i = tenant.lagging.indexOf(id)
  if (i === -1) return
  tenant.lagging.splice(i, 1)
  throw notFound(id)
}

function filterValue(query: URLSearchParams, property: string): string {
  const filter = query.get('$filter') ?? ''
  const match = new RegExp(`^${property} eq '((?:[^']|'')*)'$`).exec(filter)
  if (match === null) throw new Unexpected(`unexpected $filter: ${filter}`)
  return (match[1] ?? '').replaceAll('\'\'', '\'')
}

/** Answers one Graph request: the status and the body. */
function graph(tenant: FakeTenant, method: string, path: string, query: URLSearchParams, body: unknown): [number, unknown] {
  const byAppId = /^\/v1\.0\/applications\(appId='([^']*)'\)$/.exec(path)
  const byId = /^\/v1\.0\/applications\/([^/]+)$/.exec(path)
  if (method === 'GET' && path === '/v1.0/applications') {
    const name = filterValue(query, 'displayName')
    return [200, { value: tenant.applications.filter((a) => a.displayName === name).map(present) }]
  }
  if (method === 'GET' && byAppId !== null) {
    const app = tenant.applications.find((a) => a.appId === byAppId[1])
    if (app === undefined) throw notFound(byAppId[1] ?? '')
    return [200, present(app)]
  }
  if ((method === 'GET' || method === 'PATCH') && byId !== null) {
    const i = tenant.applications.findIndex((a) => a.id === byId[1])
    const app = tenant.applications[i]
    if (app === undefined) throw notFound(byId[1] ?? '')
    if (method === 'GET') return [200, present(app)]
    replicated(tenant, app.id)
    tenant.applications[i] = applyApplicationBody(tenant, body, app)
    return [204, undefined]
  }
  if (method === 'POST' && path === '/v1.0/applications') {
    const app = applyApplicationBody(tenant, body, undefined)
    tenant.applications.push(app)
    if (tenant.replicationLag) tenant.lagging.push(app.id, app.appId)
    return [201, present(app)]
  }
  if (method === 'GET' && path === '/v1.0/servicePrincipals') {
    const appId = filterValue(query, 'appId')
    return [200, { value: tenant.servicePrincipals.filter((s) => s.appId === appId) }]
  }
  if (method === 'POST' && path === '/v1.0/servicePrincipals') {
    if (!isObject(body)) throw bad('the body must be a JSON object')
    onlyKeys(body, ['appId', 'accountEnabled', 'appRoleAssignmentRequired', 'tags'], 'servicePrincipal')
    const appId = body.appId
    if (!isString(appId) || !GUID.test(appId)) throw bad('appId must be a GUID')
    replicated(tenant, appId)
    const app = tenant.applications.find((a) => a.appId === appId)
    if (app === undefined) throw bad(`The appId '${appId}' of the service principal does not reference a valid application object.`)
    if (tenant.servicePrincipals.some((s) => s.appId === appId)) {
      throw new GraphError(409, 'Request_MultipleObjectsWithSameKeyValue', `Another object with the same value for property appId already exists: ${appId}`)
    }
    const sp = { id: randomUUID(), appId, displayName: app.displayName }
    tenant.servicePrincipals.push(sp)
    return [201, sp]
  }
  throw new Unexpected(`no fake for ${method} ${path}`)
}

/** Parses `--name value` options, refusing any not in `known`. */
function options(args: readonly string[], known: readonly string[]): Map<string, string[]> {
  const found = new Map<string, string[]>()
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i] ?? ''
    const value = args[i + 1]
    if (!known.includes(name) || value === undefined) throw new Unexpected(`unexpected argument ${name}`)
    found.set(name, [...(found.get(name) ?? []), value])
  }
  return found
}

const REASONS: Readonly<Record<number, string>> = { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict' }

/** Runs one `az` invocation against the tenant in `statePath`; returns the exit code. */
function main(argv: readonly string[], statePath: string, logPath: string): number {
  const tenant = JSON.parse(readFileSync(statePath, 'utf8')) as FakeTenant
  const call: FakeCall = { args: [...argv], status: -1 }
  const save = (): void => {
    writeFileSync(statePath, JSON.stringify(tenant, null, 2))
    appendFileSync(logPath, `${JSON.stringify(call)}\n`)
  }
  try {
    const [group, verb, ...rest] = argv
    if (group === 'account' && verb === 'show') {
      const o = options(rest, ['--query', '--output', '-o'])
      if (o.get('--query')?.[0] !== 'tenantId' || (o.get('--output') ?? o.get('-o'))?.[0] !== 'tsv') throw new Unexpected('az account show: only --query tenantId --output tsv is faked')
      call.status = 0
      if (!tenant.loggedIn) {
        save()
        process.stderr.write('ERROR: Please run \'az login\' to setup account.\n')
        return 1
      }
      save()
      process.stdout.write(`${tenant.tenantId}\n`)
      return 0
    }
    if (group !== 'rest' || verb === undefined) throw new Unexpected(`no fake for az ${argv.join(' ')}`)
    const o = options([verb, ...rest], ['--method', '--uri', '--body', '--headers', '--output'])
    const method = o.get('--method')?.[0] ?? ''
    const uri = o.get('--uri')?.[0] ?? ''
    if (!['GET', 'POST', 'PATCH'].includes(method)) throw new Unexpected(`unexpected --method ${method}`)
    if (o.get('--output')?.[0] !== 'json') throw new Unexpected('az rest: --output json expected')
    const url = new URL(uri)
    if (url.origin !== 'https://graph.microsoft.com') throw new Unexpected(`az rest: ${uri} is not Microsoft Graph`)
    const bodyArg = o.get('--body')?.[0]
    let body: unknown
    if (bodyArg !== undefined) {
      if (o.get('--headers')?.[0] !== 'Content-Type=application/json') throw new Unexpected('az rest: a body needs --headers Content-Type=application/json')
      // As az: @file, or the JSON itself (what a dry run prints).
      body = JSON.parse(bodyArg.startsWith('@') ? readFileSync(bodyArg.slice(1), 'utf8') : bodyArg)
    }
    if ((method === 'GET') !== (body === undefined)) throw new Unexpected(`${method} ${uri}: a body is for POST and PATCH only`)
    const path = decodeURIComponent(url.pathname)
    Object.assign(call, { method, path: `${path}${decodeURIComponent(url.search)}`, ...(body === undefined ? {} : { body }) })
    const [status, answer] = graph(tenant, method, path, url.searchParams, body)
    call.status = status
    save()
    if (answer !== undefined) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`)
    return 0
  } catch (error) {
    if (error instanceof GraphError) {
      call.status = error.status
      save()
      const reason = REASONS[error.status] ?? 'Error'
      process.stderr.write(`ERROR: ${reason}(${JSON.stringify({ error: { code: error.code, message: error.message } })})\n`)
      return 1
    }
    save()
    process.stderr.write(`fake az: ${error instanceof Error ? error.message : String(error)}\n`)
    return 2
  }
}

/** The test's handle on an installed fake. */
export interface FakeAz {
  /** The directory holding `az` (and a `jq` that refuses to run): put it first on PATH. */
  readonly bin: string
  /** The tenant as saved now. */
  tenant: () => FakeTenant
  /** Changes the saved tenant (drift between runs, a logged-out CLI). */
  update: (change: (tenant: FakeTenant) => void) => void
  /** Every call so far. */
  calls: () => FakeCall[]
  /** The variables that point `az` at this fake's state. */
  readonly env: Readonly<Record<string, string>>
}

/** Writes `az` into `dir` (an empty directory the test owns), backed by a new tenant. */
export function installFakeAz(dir: string, tenant: Partial<FakeTenant> = {}): FakeAz {
  const statePath = join(dir, 'tenant.json')
  const logPath = join(dir, 'calls.jsonl')
  const initial: FakeTenant = { tenantId: randomUUID(), loggedIn: true, applications: [], servicePrincipals: [], replicationLag: false, lagging: [], ...tenant }
  writeFileSync(statePath, JSON.stringify(initial, null, 2))
  writeFileSync(logPath, '')
  const self = fileURLToPath(import.meta.url)
  const bin = join(dir, 'bin')
  const az = join(bin, 'az')
  const jq = join(bin, 'jq')
  mkdirSync(bin)
  writeFileSync(az, `#!/bin/sh\nexec '${process.execPath}' --disable-warning=ExperimentalWarning '${self}' "$@"\n`)
  writeFileSync(jq, '#!/bin/sh\necho "fake az: the script must not need jq" >&2\nexit 2\n')
  chmodSync(az, 0o755)
  chmodSync(jq, 0o755)
  const read = (): FakeTenant => JSON.parse(readFileSync(statePath, 'utf8')) as FakeTenant
  return {
    bin,
    tenant: read,
    update: (change) => {
      const t = read()
      change(t)
      writeFileSync(statePath, JSON.stringify(t, null, 2))
    },
    calls: () => readFileSync(logPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as FakeCall),
    env: { FAKE_AZ_STATE: statePath, FAKE_AZ_LOG: logPath }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const statePath = process.env.FAKE_AZ_STATE
  const logPath = process.env.FAKE_AZ_LOG
  if (statePath === undefined || logPath === undefined) {
    process.stderr.write('fake az: FAKE_AZ_STATE and FAKE_AZ_LOG must be set\n')
    process.exitCode = 2
  } else {
    process.exitCode = main(process.argv.slice(2), statePath, logPath)
  }
}
