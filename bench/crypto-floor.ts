// Child process of bench/run.ts, pinned to the servers' core: the CPU cost of one RS256 signature check, the floor
// under any verifier's per-token cost. Measured two ways over the run's distinct tokens:
// - node:crypto `verify` (synchronous, OpenSSL on the calling thread): the floor;
// - WebCrypto `crypto.subtle.verify` with 50 checks in flight, which is what jose 6 calls: each check is a job
//   on libuv's thread pool, so it adds thread hand-offs to the same OpenSSL work.
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

/** CPU per signature check, in microseconds. */
export interface FloorResult {
  readonly verifies: number
  readonly nodeCryptoMicros: number
  readonly webCryptoMicros: number
}

const config = JSON.parse(process.env.BENCH_FLOOR_CONFIG ?? '{}') as FloorConfig
const inputs = readFileSync(config.tokenFile, 'utf8').split('\n').filter((t) => t !== '').slice(0, config.count).map((token) => {
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

async function microsPerVerify(run: () => void | Promise<void>): Promise<number> {
  await run() // warm-up
  const before = process.cpuUsage()
  await run()
  const spent = process.cpuUsage(before)
  return (spent.user + spent.system) / inputs.length
}

const result: FloorResult = {
  verifies: inputs.length,
  nodeCryptoMicros: await microsPerVerify(nodeCrypto),
  webCryptoMicros: await microsPerVerify(webCrypto)
}
if (process.send === undefined) console.log(result)
else process.send(result, () => process.exit(0))
