// Whether a request's immediate peer is a proxy the server's `trustProxy` option trusts: Fastify's own rule, as
// its `request.host` and `request.protocol` apply it to X-Forwarded-Host and X-Forwarded-Proto.
//
// Fastify keeps its compiled trust function private (lib/request.js), and exposes it only through the `ips`
// getter it defines when `trustProxy` is set: proxy-addr's `all()`, the socket's address followed by each
// forwarded address for as long as the address before it is trusted. Asked about the request's own socket and a
// single placeholder forwarded address, the getter answers with two addresses exactly when the trust function
// trusts the peer at hop 0. So the rule stays Fastify's, whatever form `trustProxy` takes (true, addresses,
// subnets, a function; a hop count trusts no peer, as Fastify's own getters treat it since 5.8).

import type { FastifyRequest } from 'fastify'

// TEST-NET-1 (RFC 5737): an address no real client has; only its presence matters.
const PLACEHOLDER_FORWARD = { 'x-forwarded-for': '192.0.2.1' }

/** `true` when `request` came from a peer the server's `trustProxy` option trusts; `false` without the option. */
export function fromTrustedProxy(request: FastifyRequest): boolean {
  const ips = ipsGetter(request)
  if (ips === undefined) return false
  const socket = request.raw.socket as { remoteAddress?: string | undefined } | null | undefined
  if (socket?.remoteAddress === undefined) return false
  const addresses: unknown = Reflect.apply(ips, { raw: { socket, headers: PLACEHOLDER_FORWARD } }, [])
  return Array.isArray(addresses) && addresses.length === 2
}

type IpsGetter = (this: unknown) => unknown

/**
 * The `ips` getter found for each request prototype (Fastify makes one Request class per instance and route
 * context, and defines `ips` on one of its ancestors): looked up on a context's first request, not on every one.
 * `null`: none (no `trustProxy`).
 */
const gettersByPrototype = new WeakMap<object, IpsGetter | null>()

function ipsGetter(request: FastifyRequest): IpsGetter | undefined {
  const prototype = Object.getPrototypeOf(request) as object | null
  if (prototype === null) return undefined
  let getter = gettersByPrototype.get(prototype)
  if (getter === undefined) {
    getter = findIpsGetter(prototype)
    gettersByPrototype.set(prototype, getter)
  }
  return getter ?? undefined
}

function findIpsGetter(prototype: object): IpsGetter | null {
  for (let proto: object | null = prototype; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, 'ips')
    // eslint-disable-next-line @typescript-eslint/unbound-method -- a getter, called with the probe as `this`
    if (descriptor !== undefined) return (descriptor.get as IpsGetter | undefined) ?? null
  }
  return null
}
