// Child process of bench/fixture.ts: signs `count` distinct tokens from one template with node:crypto and writes
// them, one a line, to `outFile`. Each token gets its own oid, sub and uti, so every token is distinct and carries
// its own valid RS256 signature.
import { createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto'
import type { JsonWebKey } from 'node:crypto'
import { writeFileSync } from 'node:fs'

/** What bench/fixture.ts sends each signing process (over IPC). */
export interface SignJob {
  readonly privateJwk: JsonWebKey
  /** The protected header, already base64url-encoded (the same for every token). */
  readonly encodedHeader: string
  readonly claims: Readonly<Record<string, unknown>>
  readonly count: number
  readonly outFile: string
}

process.once('message', (job: SignJob) => {
  const key = createPrivateKey({ key: job.privateJwk, format: 'jwk' })
  const tokens: string[] = []
  for (let i = 0; i < job.count; i++) {
    const claims = { ...job.claims, oid: randomUUID(), sub: randomUUID(), uti: randomBytes(16).toString('base64url').slice(0, 22) }
    const input = `${job.encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
    tokens.push(`${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`)
  }
  writeFileSync(job.outFile, tokens.join('\n'))
  process.exit(0)
})
