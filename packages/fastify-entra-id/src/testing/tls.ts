import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A self-signed certificate for 127.0.0.1 (its own CA) and its key, in PEM, valid 2 days: what a loopback https
 * server (such as the test token endpoint, `startTestTokenEndpoint`) serves, and what a client trusts as `ca`; also a certificate for
 * client authentication. Made by the `openssl` command, which must be on `PATH` (Debian: `apt-get install openssl`).
 *
 * @param commonName - the certificate's CN. Default `127.0.0.1`.
 */
export function selfSignedCertificate(commonName = '127.0.0.1'): { key: string, cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'entra-tls-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
      '-subj', `/CN=${commonName}`, '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
