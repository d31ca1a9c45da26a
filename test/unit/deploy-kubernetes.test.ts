import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { DEFAULT_SHUTDOWN_DRAIN_MS } from '../../plugins/config.js'
import { test } from 'node:test'

// No YAML dependency: the manifest is block-style YAML, and these checks read it by indentation and by line.
const manifest = readFileSync(new URL('../../deploy/kubernetes.yaml', import.meta.url), 'utf8')
const documents = manifest.split(/^---$/m).map((d) => d.replace(/^\s*#.*$/gm, ''))

function kind(name: string): string {
  const found = documents.filter((d) => new RegExp(`^kind: ${name}$`, 'm').test(d))
  assert.equal(found.length, 1, `one ${name}`)
  return found[0] ?? ''
}

/** The lines nested under the first `key:` line of `text`. */
function under(text: string, key: string): string {
  const lines = text.split('\n')
  const start = lines.findIndex((l) => new RegExp(`^\\s*(?:- )?${key}:`).test(l))
  assert.ok(start !== -1, `${key} is set`)
  const indent = /^\s*(?:- )?/.exec(lines[start] ?? '')?.[0].length ?? 0
  const body: string[] = []
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && (/^\s*/.exec(line)?.[0].length ?? 0) < indent + 1) break
    body.push(line)
  }
  return body.join('\n')
}

function number(text: string, key: string): number {
  const match = new RegExp(`^\\s*${key}: (\\d+)$`, 'm').exec(text)
  assert.ok(match !== null, `${key} is a number`)
  return Number(match[1])
}

// The numbers the service uses, read from its source so that a change there fails here.
const serverSource = readFileSync(new URL('../../src/start-server.ts', import.meta.url), 'utf8')
/** `const NAME = <ms>` of src/start-server.ts, in seconds. */
function serverSeconds(name: string): number {
  return Number(new RegExp(`const ${name} = ([\\d_]+)`).exec(serverSource)?.[1]?.replaceAll('_', '')) / 1000
}
const shutdownDrain = DEFAULT_SHUTDOWN_DRAIN_MS / 1000
const shutdownClose = serverSeconds('SHUTDOWN_CLOSE')
const databaseCheck = Number(/const DATABASE_CHECK_TIMEOUT = ([\d_]+)/.exec(readFileSync(new URL('../../routes/health.ts', import.meta.url), 'utf8'))?.[1]?.replaceAll('_', '')) / 1000
const deployment = kind('Deployment')

test('the Kubernetes probes ask /health/ready for traffic and /health/live for restarts, on port 8080', () => {
  const readiness = under(deployment, 'readinessProbe')
  assert.match(readiness, /path: \/health\/ready\n\s+port: 8080/)
  assert.ok(number(readiness, 'timeoutSeconds') > databaseCheck, `the readiness timeout exceeds the route's ${databaseCheck} s database check`)
  assert.match(under(deployment, 'livenessProbe'), /path: \/health\/live\n\s+port: 8080/)
  assert.match(under(deployment, 'ports'), /containerPort: 8080/)
  assert.match(under(kind('Service'), 'ports'), /targetPort: 8080/)
})

test('the Kubernetes preStop delay, the service\'s drain and its close all fit in the termination grace period', () => {
  assert.ok(shutdownDrain > 0, 'the production drain is not 0')
  assert.ok(shutdownClose > 0, 'SHUTDOWN_CLOSE is read from src/start-server.ts')
  assert.doesNotMatch(under(deployment, 'env'), /SHUTDOWN_DRAIN_MS/, 'the drain is the default one, which this test reads')
  assert.doesNotMatch(under(kind('ConfigMap'), 'data'), /SHUTDOWN_DRAIN_MS/, 'the drain is the default one, which this test reads')
  const sleep = /command: \["sleep", "(\d+)"\]/.exec(under(under(deployment, 'lifecycle'), 'preStop'))
  assert.ok(sleep !== null, 'preStop sleeps')
  const preStop = Number(sleep[1])
  const grace = number(deployment, 'terminationGracePeriodSeconds')
  assert.ok(preStop > 0 && preStop + shutdownDrain + shutdownClose < grace,
    `preStop ${preStop} s + drain ${shutdownDrain} s + close ${shutdownClose} s < terminationGracePeriodSeconds ${grace} s`)
})

test('more than one Kubernetes replica takes DATABASE_URL from a Secret (each pod would otherwise have its own SQLite)', () => {
  const replicas = number(deployment, 'replicas')
  if (replicas <= 1) return
  const env = under(deployment, 'env')
  assert.match(env, /- name: DATABASE_URL\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: todo-api-database\n\s+key: DATABASE_URL/)
  const secret = kind('Secret')
  assert.match(secret, /^\s+name: todo-api-database$/m)
  assert.match(under(secret, 'stringData'), /^\s+DATABASE_URL: "postgres:\/\//m)
})

test('the Kubernetes pods run as the image\'s non-root user, and the ingress serves HTTPS', () => {
  const pod = under(deployment, 'securityContext')
  assert.match(pod, /runAsNonRoot: true/)
  assert.match(pod, /runAsUser: 1000/)
  const ingress = kind('Ingress')
  const tls = under(ingress, 'tls')
  assert.match(tls, /secretName: \S+/)
  const host = /^\s+- host: (\S+)$/m.exec(ingress)?.[1]
  assert.ok(host !== undefined && tls.includes(`- ${host}`), 'the TLS certificate covers the rule\'s host')
  assert.match(under(ingress, 'backend'), /name: todo-api\n\s+port:\n\s+number: 80/)
})
