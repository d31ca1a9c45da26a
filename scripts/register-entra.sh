#!/usr/bin/env bash
# Registers the todo API and its Swagger UI client in Microsoft Entra ID, through the Azure CLI and Microsoft
# Graph (`az rest`). Creates what is missing and updates what exists, so it can be rerun at will: a rerun finds
# the registrations (by display name, or by the app IDs given), keeps every scope and app-role ID it finds
# (Graph refuses to change the ID of an enabled scope) and changes only what differs.
#
#   az login                               # an account allowed to register applications in the tenant
#   bash scripts/register-entra.sh --public-base-url https://<host> --redirect-uri https://<host>/docs/oauth2-redirect.html
#   bash scripts/register-entra.sh --public-base-url https://<host> --dry-run   # prints the writes, sends none
#
# What it sets up:
#   - the API registration (default name todo-api): identifier URI api://<appId>, delegated scopes Todo.Read and
#     Todo.Write, app roles Todo.Read.All and Todo.Write.All (for applications), api.requestedAccessTokenVersion 2;
#   - with --public-base-url: the resource identifiers the service publishes (RFC 9728), <base>/api and <base>/mcp,
#     as identifier URIs of the API too, so that the scopes are also <base>/mcp/Todo.Read...: MCP clients send the
#     identifier to Entra as the resource parameter, which Entra refuses unless it is one (AADSTS9010010);
#   - the Swagger UI registration (default name todo-api-swagger): a single-page application with the given
#     redirect URIs, asking for both scopes;
#   - the Azure CLI (04b07795-8ddb-461a-bbee-02f9e1bf7b46) and the Swagger UI client pre-authorized for both
#     scopes, so `az account get-access-token --resource api://<appId>` and Swagger UI sign-in need no consent;
#   - a service principal (enterprise application) for each registration.
# Then it prints the variables to set, as KEY=value lines on stdout (progress goes to stderr).
#
# Needs bash, the Azure CLI and Node.js (for the JSON work; no jq).
set -euo pipefail
# A failure inside $(...) stops the script too (bash 4.4 and later; older shells rely on the explicit checks).
shopt -s inherit_errexit 2>/dev/null || true

usage() {
  cat <<'EOF'
Usage: bash scripts/register-entra.sh [options]

  --name NAME             display name of the API registration (default: todo-api; env ENTRA_API_NAME)
  --spa-name NAME         display name of the Swagger UI registration (default: NAME-swagger; env ENTRA_SPA_NAME)
  --api-app-id ID         use the API registration with this application (client) ID instead of finding it
                          by name (env ENTRA_API_APP_ID)
  --spa-app-id ID         the same for the Swagger UI registration (env ENTRA_SPA_APP_ID)
  --redirect-uri URI      a Swagger UI redirect URI, https://<host>/docs/oauth2-redirect.html; repeat for each
                          host. Added to those already registered. Default for a new registration:
                          http://localhost:8080/docs/oauth2-redirect.html (env ENTRA_REDIRECT_URIS, space-separated)
  --public-base-url URL   the service's public origin, as its PUBLIC_BASE_URL (https://todo.contoso.com): adds
                          URL/api and URL/mcp, the resources it publishes, as identifier URIs of the API
                          (env PUBLIC_BASE_URL)
  --dry-run               read the registrations, then print each write as the az command that would make it,
                          sending none (a registration to create is shown with an app ID 00000000-0000-...)
  -h, --help              this help

Environment: GRAPH_URL (default https://graph.microsoft.com; https://graph.microsoft.us for US Government),
ENTRA_RETRY_DELAY (seconds between retries while Entra replicates a new object; default 5).
EOF
}

die() { printf 'register-entra: %s\n' "$*" >&2; exit 1; }
say() { printf '%s\n' "$*" >&2; }

API_NAME="${ENTRA_API_NAME:-todo-api}"
SPA_NAME="${ENTRA_SPA_NAME:-}"
API_APP_ID="${ENTRA_API_APP_ID:-}"
SPA_APP_ID="${ENTRA_SPA_APP_ID:-}"
read -r -a REDIRECT_URIS <<<"${ENTRA_REDIRECT_URIS:-}"
GRAPH="${GRAPH_URL:-https://graph.microsoft.com}"
GRAPH="${GRAPH%/}/v1.0"
RETRY_DELAY="${ENTRA_RETRY_DELAY:-5}"
PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-}"
DRY_RUN=
PLACEHOLDERS=0

while [ $# -gt 0 ]; do
  case "$1" in
    --name) API_NAME="${2:?--name needs a value}"; shift 2 ;;
    --spa-name) SPA_NAME="${2:?--spa-name needs a value}"; shift 2 ;;
    --api-app-id) API_APP_ID="${2:?--api-app-id needs a value}"; shift 2 ;;
    --spa-app-id) SPA_APP_ID="${2:?--spa-app-id needs a value}"; shift 2 ;;
    --redirect-uri) REDIRECT_URIS+=("${2:?--redirect-uri needs a value}"); shift 2 ;;
    --public-base-url) PUBLIC_BASE_URL="${2:?--public-base-url needs a value}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
SPA_NAME="${SPA_NAME:-$API_NAME-swagger}"

command -v az >/dev/null || die "the Azure CLI (az) is not installed: https://aka.ms/azure-cli"
command -v node >/dev/null || die "Node.js is needed (it does this script's JSON work)"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The JSON work: reading Graph's answers and computing the bodies to send. Every rule of Microsoft Graph's
# application resource that matters here is in this one place.
cat >"$WORK/entra.mjs" <<'EOF'
import { randomUUID } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'

const AZURE_CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SCOPES = [
  { value: 'Todo.Read', type: 'User',
    adminConsentDisplayName: 'Read users\' todos', adminConsentDescription: 'Allows the app to read the signed-in user\'s todos.',
    userConsentDisplayName: 'Read your todos', userConsentDescription: 'Allows the app to read your todos.' },
  { value: 'Todo.Write', type: 'User',
    adminConsentDisplayName: 'Change users\' todos', adminConsentDescription: 'Allows the app to create, change and delete the signed-in user\'s todos.',
    userConsentDisplayName: 'Change your todos', userConsentDescription: 'Allows the app to create, change and delete your todos.' }
]
const ROLES = [
  { value: 'Todo.Read.All', allowedMemberTypes: ['Application'], displayName: 'Read all todos',
    description: 'Allows the application to read every user\'s todos, without a signed-in user.' },
  { value: 'Todo.Write.All', allowedMemberTypes: ['Application'], displayName: 'Change all todos',
    description: 'Allows the application to create, change and delete every user\'s todos, without a signed-in user.' }
]

const read = (file) => JSON.parse(readFileSync(file, 'utf8'))
const write = (file, value) => writeFileSync(file, JSON.stringify(value, null, 2))
// `origin` is read-only: Graph refuses it in a POST or PATCH.
const writable = ({ origin, ...rest }) => rest
const union = (a, b) => [...new Set([...(a ?? []), ...b])]
// Compared without `origin`, which Graph adds to what it returns.
const stable = (v) => Array.isArray(v) ? v.map(stable)
  : v !== null && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).filter((k) => k !== 'origin').sort().map((k) => [k, stable(v[k])]))
    : v
const same = (a, b) => JSON.stringify(stable(a ?? null)) === JSON.stringify(stable(b ?? null))
/** Writes the properties of `wanted` that differ from `app` to `out`; prints "changed" or "unchanged". */
function patch(app, wanted, out) {
  const body = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => !same(app[k], v)))
  write(out, body)
  console.log(Object.keys(body).length === 0 ? 'unchanged' : 'changed')
}
/** Existing permissions kept as they are (removing an enabled one is refused), ours added or updated by value. */
function merge(existing, ours) {
  const list = (existing ?? []).map(writable)
  for (const p of ours) {
    const i = list.findIndex((e) => e.value === p.value)
    // The ID is kept once created: clients, grants and pre-authorizations refer to it.
    if (i === -1) list.push({ id: randomUUID(), ...p, isEnabled: true })
    else list[i] = { ...list[i], ...p, isEnabled: true }
  }
  return list
}
const scopeIds = (app) => SCOPES.map((s) => app.api.oauth2PermissionScopes.find((e) => e.value === s.value).id)

const [command, ...args] = process.argv.slice(2)
switch (command) {
  case 'field': { // FILE NAME: a top-level string property
    const value = read(args[0])[args[1]]
    if (typeof value !== 'string') throw new Error(`Graph's answer has no ${args[1]}`)
    console.log(value)
    break
  }
  case 'pick': { // LIST_FILE OUT_FILE WHAT: the one object of a Graph list, or "none"
    const found = read(args[0]).value ?? []
    if (found.length > 1) { console.log('several'); break }
    if (found.length === 1) write(args[1], found[0])
    console.log(found.length === 1 ? 'one' : 'none')
    break
  }
  case 'filter': { // PROPERTY VALUE: an OData $filter, URL-encoded (quotes in the value doubled)
    console.log(encodeURIComponent(`${args[0]} eq '${args[1].replaceAll('\'', '\'\'')}'`))
    break
  }
  case 'redirect-count': { // SPA_FILE
    console.log(read(args[0]).spa?.redirectUris?.length ?? 0)
    break
  }
  case 'guid': {
    if (!GUID.test(args[0])) process.exitCode = 1
    break
  }
  case 'new-app': { // NAME OUT: the body that creates a registration
    write(args[1], { displayName: args[0], signInAudience: 'AzureADMyOrg' })
    break
  }
  case 'api': { // APP_FILE OUT: identifier URI, token version, scopes, roles
    const app = read(args[0])
    patch(app, {
      // api://<appId> needs the appId, so it is set after creation.
      identifierUris: union(app.identifierUris, [`api://${app.appId}`]),
      api: {
        ...app.api,
        requestedAccessTokenVersion: 2,
        oauth2PermissionScopes: merge(app.api?.oauth2PermissionScopes, SCOPES),
        preAuthorizedApplications: app.api?.preAuthorizedApplications ?? []
      },
      appRoles: merge(app.appRoles, ROLES)
    }, args[1])
    break
  }
  case 'spa': { // SPA_FILE API_FILE OUT REDIRECT_URI...: redirect URIs and the permissions it asks for
    const [spaFile, apiFile, out, ...redirectUris] = args
    const spa = read(spaFile)
    const api = read(apiFile)
    const ours = scopeIds(api).map((id) => ({ id, type: 'Scope' }))
    const required = (spa.requiredResourceAccess ?? []).map((r) => ({ ...r }))
    const entry = required.find((r) => r.resourceAppId === api.appId)
    if (entry === undefined) required.push({ resourceAppId: api.appId, resourceAccess: ours })
    else entry.resourceAccess = [...entry.resourceAccess, ...ours.filter((o) => !entry.resourceAccess.some((m) => m.id === o.id))]
    patch(spa, {
      spa: { ...spa.spa, redirectUris: union(spa.spa?.redirectUris, redirectUris) },
      requiredResourceAccess: required
    }, out)
    break
  }
  case 'preauthorize': { // API_FILE SPA_APP_ID OUT: the Azure CLI and Swagger UI need no consent for the scopes
    const [apiFile, spaAppId, out] = args
    const app = read(apiFile)
    const ids = scopeIds(app)
    const list = (app.api.preAuthorizedApplications ?? []).map((p) => ({ ...p }))
    for (const appId of [AZURE_CLI, spaAppId]) {
      const entry = list.find((p) => p.appId === appId)
      if (entry === undefined) list.push({ appId, delegatedPermissionIds: ids })
      else entry.delegatedPermissionIds = union(entry.delegatedPermissionIds, ids)
    }
    // A separate request from the one that adds the scopes: Graph accepts only IDs of scopes already saved.
    patch(app, { api: { ...app.api, oauth2PermissionScopes: app.api.oauth2PermissionScopes.map(writable), preAuthorizedApplications: list } }, out)
    break
  }
  case 'identifier-uris': { // APP_FILE OUT URI...: the resource identifiers added to the identifier URIs
    const [appFile, out, ...uris] = args
    const app = read(appFile)
    patch(app, { identifierUris: union(app.identifierUris, uris) }, out)
    break
  }
  case 'base-url': { // URL: the origin without a final '/', or exit 1 unless an https origin (the identifiers' base)
    let url
    try { url = new URL(args[0]) } catch { process.exitCode = 1; break }
    const origin = /^https:\/\/[^/?#\s@]+\/?$/i.test(args[0]) && url.protocol === 'https:'
    if (!origin) { process.exitCode = 1; break }
    console.log(args[0].replace(/\/$/, ''))
    break
  }
  case 'placeholder': { // BODY_FILE OUT N: what a dry run takes the Nth registration it would create to be
    const n = Number(args[2])
    write(args[1], { id: `dry-run-${n}`, appId: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`, identifierUris: [], appRoles: [], api: {}, ...read(args[0]) })
    break
  }
  case 'merge': { // APP_FILE BODY_FILE: a dry run's registration after a PATCH it did not send (properties replaced whole)
    write(args[0], { ...read(args[0]), ...read(args[1]) })
    break
  }
  case 'command': { // METHOD URI [BODY_FILE]: the az command a dry run prints, quoted for a POSIX shell
    const quote = (v) => /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll('\'', '\'\\\'\'')}'`
    const [method, uri, body] = args
    const words = ['az', 'rest', '--method', method, '--uri', uri, '--output', 'json']
    if (body !== undefined) words.push('--headers', 'Content-Type=application/json', '--body', JSON.stringify(read(body)))
    console.log(words.map(quote).join(' '))
    break
  }
  case 'redirect-uri': { // URI: exit 1 unless Entra accepts it for a single-page application
    let url
    try { url = new URL(args[0]) } catch { process.exitCode = 1; break }
    const local = url.protocol === 'http:' && ['localhost', '127.0.0.1'].includes(url.hostname)
    if ((url.protocol !== 'https:' && !local) || url.hash !== '' || args[0].length > 256) process.exitCode = 1
    break
  }
  default:
    throw new Error(`unknown command ${command}`)
}
EOF
js() { node "$WORK/entra.mjs" "$@"; }

# One Microsoft Graph request: METHOD PATH [BODY_FILE], the answer on stdout. A POST or PATCH that refers to an
# object created moments ago can fail until Entra has replicated it: those are retried.
graph() {
  local method="$1" uri="$GRAPH$2" body="${3:-}" attempt=1
  if [ -n "$DRY_RUN" ] && [ "$method" != GET ]; then
    say "would run: $(js command "$method" "$uri" ${body:+"$body"})"
    # A registration it would create stands in for the answer, so the next steps can show their writes too.
    if [ "$method $2" = "POST /applications" ]; then
      PLACEHOLDERS=$((PLACEHOLDERS + 1))
      js placeholder "$body" "$WORK/placeholder.json" "$PLACEHOLDERS" && cat "$WORK/placeholder.json"
    fi
    return 0
  fi
  local args=(rest --method "$method" --uri "$uri" --output json)
  if [ -n "$body" ]; then args+=(--headers 'Content-Type=application/json' --body "@$body"); fi
  while :; do
    if az "${args[@]}" 2>"$WORK/error"; then return 0; fi
    if [ "$method" != GET ] && [ "$attempt" -lt 6 ] &&
       grep -Eq 'Request_ResourceNotFound|does not reference a valid application object|does not exist' "$WORK/error"; then
      say "  ($method $2: not replicated yet, retrying in ${RETRY_DELAY}s)"
      sleep "$RETRY_DELAY"
      attempt=$((attempt + 1))
      continue
    fi
    cat "$WORK/error" >&2
    die "$method $uri failed${GRAPH_HINT:+: $GRAPH_HINT}"
  done
}

for uri in ${REDIRECT_URIS[@]+"${REDIRECT_URIS[@]}"}; do
  js redirect-uri "$uri" || die "redirect URI $uri: Entra accepts https:// URIs, or http://localhost, without a fragment (https://<host>/docs/oauth2-redirect.html)"
  case "$uri" in */docs/oauth2-redirect.html) ;; *) say "warning: $uri does not end in /docs/oauth2-redirect.html, where Swagger UI returns" ;; esac
done
if [ -n "$PUBLIC_BASE_URL" ]; then
  PUBLIC_BASE_URL="$(js base-url "$PUBLIC_BASE_URL")" ||
    die "--public-base-url must be the service's https origin, without a path (https://todo.contoso.com): Entra's identifier URIs are https:// (or api://)"
fi
for id in "$API_APP_ID" "$SPA_APP_ID"; do
  if [ -n "$id" ]; then js guid "$id" || die "$id is not an application (client) ID (a GUID)"; fi
done

TENANT_ID="$(az account show --query tenantId --output tsv)" || die "not signed in to the Azure CLI: run az login (az login --allow-no-subscriptions for a tenant without subscriptions)"
say "tenant $TENANT_ID"

# find NAME APP_ID OUT FLAG: the registration into OUT; prints "found" or "missing".
find_app() {
  local name="$1" app_id="$2" out="$3" flag="$4"
  if [ -n "$app_id" ]; then
    graph GET "/applications(appId='$app_id')" >"$out" || exit 1
    echo found
    return
  fi
  graph GET "/applications?\$filter=$(js filter displayName "$name")" >"$WORK/list.json" || exit 1
  case "$(js pick "$WORK/list.json" "$out")" in
    one) echo found ;;
    none) echo missing ;;
    *) die "several applications are named \"$name\": choose one with $flag <appId>" ;;
  esac
}

# ensure NAME APP_ID OUT FLAG: the registration into OUT, created when missing.
ensure_app() {
  local name="$1" out="$3" verdict
  verdict="$(find_app "$@")"
  if [ "$verdict" = found ]; then
    say "$name: found, appId $(js field "$out" appId)"
  else
    js new-app "$name" "$WORK/new.json"
    graph POST /applications "$WORK/new.json" >"$out"
    if [ -n "$DRY_RUN" ]; then say "$name: would be created (shown below as appId $(js field "$out" appId))"; return; fi
    say "$name: created, appId $(js field "$out" appId)"
  fi
}

# apply APP_FILE BODY WHAT JS_ARGS...: computes BODY with `js JS_ARGS...`; PATCHes it when something changed,
# then reads the registration back.
apply() {
  local file="$1" body="$2" what="$3" id verdict
  shift 3
  verdict="$(js "$@")"
  id="$(js field "$file" id)"
  if [ "$verdict" = changed ] && [ -n "$DRY_RUN" ]; then
    graph PATCH "/applications/$id" "$body" >/dev/null
    say "  $what: would be updated"
    js merge "$file" "$body"
  elif [ "$verdict" = changed ]; then
    graph PATCH "/applications/$id" "$body" >/dev/null
    say "  $what: updated"
    graph GET "/applications/$id" >"$file"
  else
    say "  $what: unchanged"
  fi
}

ensure_service_principal() {
  local app_id="$1" name="$2"
  local verdict
  if [ -n "$DRY_RUN" ] && [[ "$app_id" == 00000000-0000-0000-0000-* ]]; then
    say "  $name: a service principal would be created once the registration exists"
    return
  fi
  graph GET "/servicePrincipals?\$filter=$(js filter appId "$app_id")" >"$WORK/sps.json"
  verdict="$(js pick "$WORK/sps.json" "$WORK/sp.json")"
  if [ "$verdict" = none ]; then
    printf '{"appId":"%s"}' "$app_id" >"$WORK/sp-new.json"
    graph POST /servicePrincipals "$WORK/sp-new.json" >/dev/null
    say "  $name: service principal created"
  else
    say "  $name: service principal found"
  fi
}

API="$WORK/api.json"
SPA="$WORK/spa.json"

ensure_app "$API_NAME" "$API_APP_ID" "$API" --api-app-id
apply "$API" "$WORK/api-patch.json" "identifier URI, scopes, app roles, token version 2" api "$API" "$WORK/api-patch.json"
API_APP_ID="$(js field "$API" appId)"
if [ -n "$PUBLIC_BASE_URL" ]; then
  # After the step above: an https identifier URI off the tenant's verified domains is accepted for a single-tenant
  # registration that asks for v2 tokens, so the version is saved first.
  GRAPH_HINT="Entra accepts an https identifier URI on a verified domain of the tenant, or on any host for a single-tenant registration that asks for v2 tokens, unless a tenant policy restricts identifier URIs: use a PUBLIC_BASE_URL on a verified domain, or ask an administrator" \
    apply "$API" "$WORK/uris-patch.json" "identifier URIs $PUBLIC_BASE_URL/api and $PUBLIC_BASE_URL/mcp" \
    identifier-uris "$API" "$WORK/uris-patch.json" "$PUBLIC_BASE_URL/api" "$PUBLIC_BASE_URL/mcp"
fi

ensure_app "$SPA_NAME" "$SPA_APP_ID" "$SPA" --spa-app-id
if [ "${#REDIRECT_URIS[@]}" -eq 0 ]; then
  # Only a registration without redirect URIs gets the local one: a rerun without --redirect-uri changes nothing.
  count="$(js redirect-count "$SPA")"
  if [ "$count" = 0 ]; then
    REDIRECT_URIS=(http://localhost:8080/docs/oauth2-redirect.html)
  fi
fi
apply "$SPA" "$WORK/spa-patch.json" "single-page application: redirect URIs, permissions on the API" \
  spa "$SPA" "$API" "$WORK/spa-patch.json" ${REDIRECT_URIS[@]+"${REDIRECT_URIS[@]}"}
OPENAPI_CLIENT_ID="$(js field "$SPA" appId)"

apply "$API" "$WORK/preauthorize.json" "Azure CLI and Swagger UI pre-authorized for the scopes" \
  preauthorize "$API" "$OPENAPI_CLIENT_ID" "$WORK/preauthorize.json"

ensure_service_principal "$API_APP_ID" "$API_NAME"
ensure_service_principal "$OPENAPI_CLIENT_ID" "$SPA_NAME"

say ""
if [ -n "$DRY_RUN" ]; then
  say "Dry run: nothing was changed. Without --dry-run, the writes above are made."
  exit 0
fi
say "Done. Set these variables for the service (App Service app settings, a Kubernetes ConfigMap, or your shell);"
say "a token for a quick try: az account get-access-token --resource api://$API_APP_ID --query accessToken -o tsv"
if [ -n "$PUBLIC_BASE_URL" ]; then say "one for the MCP server: az account get-access-token --scope $PUBLIC_BASE_URL/mcp/.default --query accessToken -o tsv"; fi
printf 'AZURE_TENANT_ID=%s\nAZURE_CLIENT_ID=%s\nOPENAPI_CLIENT_ID=%s\n' "$TENANT_ID" "$API_APP_ID" "$OPENAPI_CLIENT_ID"
if [ -n "$PUBLIC_BASE_URL" ]; then printf 'PUBLIC_BASE_URL=%s\n' "$PUBLIC_BASE_URL"; fi
