// The plugin as it was at an earlier commit, for `npm run bench -- --baseline <rev>`: its sources taken from git
// (git archive), compiled with this checkout's TypeScript, and cached in $TMPDIR by commit so that only the first
// run with a given baseline pays for the build. Its dependencies (jose, fastify-plugin, and the types) resolve from
// this checkout's node_modules (the root's and the package's own) through symbolic links: the comparison is of the plugin's own code, not of its
// dependencies' versions.
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, symlink } from 'node:fs/promises'
import * as nodeModule from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { UsageError } from './settings.js'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const PACKAGE_PATH = 'packages/fastify-entra-id'
/** What the package's tsconfig.build.json extends (`../../tsconfig.base.json`), at the same commit. */
const BASE_TSCONFIG_PATH = 'tsconfig.base.json'
const CACHE_DIR = join(tmpdir(), 'fastify-entra-id-bench', 'baselines')
const run = promisify(execFile)

/** A commit given with `--baseline`, checked to exist and to hold the plugin. */
export interface BaselineCommit {
  /** The revision as given on the command line (`HEAD~1`, a tag, a hash). */
  readonly rev: string
  /** The full commit hash it names. */
  readonly commit: string
  /** The abbreviated hash, as `git log --oneline` prints it: part of the baseline servers' ids. */
  readonly shortCommit: string
}

/** A compiled baseline, ready for the servers to import. */
export interface PluginBuild extends BaselineCommit {
  /** The built package's directory (its package.json, with `exports`, and its `dist/`). */
  readonly packageDir: string
}

/**
 * Resolves `rev` to a commit of this repository that holds the plugin, or throws a {@link UsageError}. Synchronous
 * and quick: it runs before the fixture or any server.
 */
export function resolveBaseline(rev: string): BaselineCommit {
  // The baseline servers' resolve hook (servers/use-plugin-build.ts) runs in-thread, which Node.js 22.15 brought.
  if (!('registerHooks' in nodeModule)) throw new UsageError(`bench: --baseline needs Node.js 22.15 or later (module.registerHooks); this is ${process.version}`)
  if (rev === '' || rev.startsWith('-')) throw new UsageError(`bench: --baseline needs a git revision (a hash, a tag, HEAD~1), not "${rev}"`)
  const commit = gitOrNull(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])
  if (commit === null) throw new UsageError(`bench: --baseline ${rev}: no such commit in this repository`)
  for (const path of [`${PACKAGE_PATH}/package.json`, `${PACKAGE_PATH}/tsconfig.build.json`]) {
    if (gitOrNull(['cat-file', '-e', `${commit}:${path}`]) === null) throw new UsageError(`bench: --baseline ${rev}: commit ${commit.slice(0, 12)} has no ${path}`)
  }
  return { rev, commit, shortCommit: gitOrNull(['rev-parse', '--short', commit]) ?? commit.slice(0, 7) }
}

/**
 * Builds the plugin at `baseline.commit` into $TMPDIR/fastify-entra-id-bench/baselines/<commit>-ts<version>-<checkout>/,
 * or reuses that build. The key names the TypeScript version (another compiler may emit other code) and this
 * checkout (whose node_modules the build links to: another worktree's may hold other versions, or be gone).
 */
export async function buildBaseline(baseline: BaselineCommit, log: (line: string) => void): Promise<PluginBuild> {
  const require = nodeModule.createRequire(import.meta.url)
  const typescript = dirname(require.resolve('typescript/package.json'))
  const { version } = require('typescript/package.json') as { version: string }
  const checkout = createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 8)
  const root = join(CACHE_DIR, `${baseline.commit}-ts${version}-${checkout}`)
  const packageDir = join(root, PACKAGE_PATH)
  // A build is renamed into place only once it compiled: a directory that exists is complete.
  if (existsSync(root)) {
    log(`baseline ${baseline.rev} (${baseline.shortCommit}): reusing the build in ${root}`)
    return { ...baseline, packageDir }
  }
  log(`baseline ${baseline.rev} (${baseline.shortCommit}): building the plugin from git with TypeScript ${version}...`)
  await mkdir(CACHE_DIR, { recursive: true })
  const staging = await mkdtemp(join(CACHE_DIR, `.${baseline.shortCommit}-`))
  try {
    const paths = [PACKAGE_PATH, ...(gitOrNull(['cat-file', '-e', `${baseline.commit}:${BASE_TSCONFIG_PATH}`]) === null ? [] : [BASE_TSCONFIG_PATH])]
    const archive = join(staging, 'source.tar')
    await run('git', ['archive', '--format=tar', '-o', archive, baseline.commit, '--', ...paths], { cwd: REPO_ROOT })
    await run('tar', ['-x', '-f', archive, '-C', staging])
    await rm(archive)
    // Both the compiler (types) and Node.js (jose, fastify-plugin) look for node_modules in the parent directories;
    // Node.js follows the link to the real path, so the baseline shares this checkout's module instances.
    await symlink(join(REPO_ROOT, 'node_modules'), join(staging, 'node_modules'), 'dir')
    // npm nests in the package's own node_modules what the root holds in another major (undici 7 here, where a
    // tool at the root brings undici 6): without that folder too, the baseline would compile against the wrong one.
    const nested = join(REPO_ROOT, PACKAGE_PATH, 'node_modules')
    if (existsSync(nested)) await symlink(nested, join(staging, PACKAGE_PATH, 'node_modules'), 'dir')
    try {
      await run(process.execPath, [join(typescript, 'bin', 'tsc'), '-p', join(staging, PACKAGE_PATH, 'tsconfig.build.json')], { cwd: staging })
    } catch (error) {
      const output = (error as { stdout?: string }).stdout?.trim() ?? String(error)
      throw new Error(`bench: the plugin at ${baseline.rev} (${baseline.shortCommit}) does not compile with TypeScript ${version}:\n${output}`, { cause: error })
    }
    try {
      await rename(staging, root)
    } catch (error) {
      // Another run built the same baseline meanwhile: keep its build.
      if (!existsSync(root)) throw error
      await rm(staging, { recursive: true, force: true })
    }
  } catch (error) {
    await rm(staging, { recursive: true, force: true })
    throw error
  }
  return { ...baseline, packageDir }
}

function gitOrNull(args: readonly string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}
