// Child process of bench/run.ts, pinned to the servers' core: the CPU a verifier cannot avoid for a token it has
// not seen, the floor under any verifier's per-token cost. Measured over the run's distinct tokens:
// - node:crypto `verify` (synchronous, OpenSSL on the calling thread) of the RS256 signature;
// - the payload decode: base64url-decoding the payload segment and JSON.parse of it, without which no claim can be
//   checked.
// The floor is their sum; header decode, claim checks and HTTP glue are not in it (what the target's factor over
// the floor leaves room for). Also measured, for comparison: WebCrypto `crypto.subtle.verify` with 50 checks in
// flight, which is what jose 6 calls: each check is a job on libuv's thread pool, so it adds thread hand-offs to
// the same OpenSSL work.
// Input: BENCH_FLOOR_CONFIG = { tokenFile, count, publicJwk }. Output: one IPC message (FloorResult).
import { createPublicKey, verify, webcrypto } from 'node:crypto'
import type { JsonWebKey } from 'node:crypto'
import { readFileSync } from 'node:fs'

/** What bench/run.ts passes in. */
export interface FloorConfig {
  readonly tokenFile: string
  readonly count: number
  readonly publicJwk: JsonWebKey
}

/** CPU per token, in microseconds. */
export interface FloorResult {
  /** Distinct tokens the measurements walked over. */
  readonly verifies: number
  /** Synchronous `node:crypto` RS256 signature check. */
  readonly nodeCryptoMicros: number
  /** base64url decode + JSON.parse of the payload segment. */
  readonly decodeMicros: number
  /** The floor: `nodeCryptoMicros + decodeMicros`. */
  readonly floorMicros: number
  /** WebCrypto `subtle.verify`, 50 in flight. */
  readonly webCryptoMicros: number
}

// Each measurement repeats its pass over the tokens until it has spent this much CPU: one pass of the payload
// decode over the quick run's 2,000 tokens takes a few milliseconds, too short to time on its own.
const MIN_CPU_MICROS = 200_000

const config = JSON.parse(process.env.BENCH_FLOOR_CONFIG ?? '{}') as FloorConfig
const tokens = readFileSync(config.tokenFile, 'utf8').split('\n').filter((t) => t !== '').slice(0, config.count)
// The signing input and signature bytes are prepared outside the timed loop, as before: the verify part is
// OpenSSL's work alone.
const inputs = tokens.map((token) => {
  const dot = token.lastIndexOf('.')
  return { data: Buffer.from(token.slice(0, dot)), signature: Buffer.from(token.slice(dot + 1), 'base64url') }
})

const keyObject = createPublicKey({ key: config.publicJwk, format: 'jwk' })
const cryptoKey = await webcrypto.subtle.importKey('jwk', config.publicJwk as webcrypto.JsonWebKey,
  { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify'])

function nodeCrypto(): void {
  for (const { data, signature } of inputs) {
    if (!verify('sha256', data, keyObject, signature)) throw new Error('bench floor: a token failed verification')
  }
}

// Starts from the token string, as a server gets it: find the payload segment, decode it, parse it. The check on
// the result keeps the work observable (and catches a fixture that is not a JWT).
function decodePayloads(): void {
  for (const token of tokens) {
    const start = token.indexOf('.') + 1
    const claims: unknown = JSON.parse(Buffer.from(token.slice(start, token.indexOf('.', start)), 'base64url').toString('utf8'))
    if (claims === null || typeof claims !== 'object') throw new Error('bench floor: a token payload is not a JSON object')
  }
}

async function webCrypto(): Promise<void> {
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < inputs.length) {
      const { data, signature } = inputs[next++] as (typeof inputs)[number]
      if (!await webcrypto.subtle.verify('RSASSA-PKCS1-v1_5', cryptoKey, signature, data)) {
        throw new Error('bench floor: a token failed verification')
      }
    }
  }
  await Promise.all(Array.from({ length: 50 }, lane))
}

/** CPU per token of `run` (one pass over the tokens), after one pass of warm-up, over at least MIN_CPU_MICROS. */
async function microsPerToken(run: () => void | Promise<void>): Promise<number> {
  await run() // warm-up: JIT, OpenSSL's key setup
  const before = process.cpuUsage()
  let passes = 0
  let spent = 0
  while (passes === 0 || spent < MIN_CPU_MICROS) {
    await run()
    passes++
    const used = process.cpuUsage(before)
    spent = used.user + used.system
  }
  return spent / (passes * tokens.length)
}

const nodeCryptoMicros = await microsPerToken(nodeCrypto)
const decodeMicros = await microsPerToken(decodePayloads)
const result: FloorResult = {
  verifies: tokens.length,
  nodeCryptoMicros,
  decodeMicros,
  floorMicros: nodeCryptoMicros + decodeMicros,
  webCryptoMicros: await microsPerToken(webCrypto)
}
if (process.send === undefined) console.log(result)
else process.send(result, () => process.exit(0))
