/**
 * npm run check:docs: every TypeScript block of every tracked Markdown file compiles as written.
 *
 * Each ```ts (or ```typescript, ```ts example) block is written as a module of its own into `.docs-check/`, inside
 * the repository so that Node's resolution finds `fastify-entra-id` (the built workspace package) and the sample's
 * dependencies, and one `tsc` run checks them all with a strict configuration. A failure is reported at its place
 * in the Markdown: `README.md:123 (block 4): error TS2304: Cannot find name 'app'.` The folder is removed afterwards.
 *
 * A block is a module (top-level `await` works, nothing leaks between blocks). A block that another block imports
 * is given its file name by an HTML comment line right above its fence, `<!-- file: api.ts -->`; the next blocks
 * of the same Markdown file then import it as `./api.js`. Shell, JSON and other blocks are not checked.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
// Git ignores it; it exists only while this script runs.
const SCRATCH = join(ROOT, '.docs-check')
const LANGUAGES = new Set(['ts', 'typescript'])

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    // Every block is a module, even one without import or export, so top-level await works and names stay local.
    moduleDetection: 'force',
    target: 'es2023',
    noEmit: true,
    skipLibCheck: true,
    types: ['node']
  },
  include: ['**/*.ts']
}

/** A TypeScript block of a Markdown file: where its code starts, and its code without the fence's indentation. */
interface Block {
  readonly markdown: string
  /** 1-based, counting the file's TypeScript blocks only. */
  readonly index: number
  /** The Markdown line (1-based) of the block's first line of code. */
  readonly firstLine: number
  readonly code: string
  /** The file name given by `<!-- file: name.ts -->`, if any. */
  readonly fileName: string | null
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/
const FILE_COMMENT = /^\s*<!--.*\bfile:\s*([\w.-]+\.ts)\b.*-->\s*$/
const ANY_COMMENT = /^\s*<!--.*-->\s*$/

/** The TypeScript blocks of one Markdown text (CommonMark fences: ``` or ~~~, indented in lists too). */
function typeScriptBlocks(markdown: string, text: string): Block[] {
  const lines = text.split(/\r?\n/)
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '')
    if (open === null) continue
    const [, indent = '', fence = '', language = ''] = open
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`)
    let end = i + 1
    while (end < lines.length && !close.test(lines[end] ?? '')) end++
    if (LANGUAGES.has(language.toLowerCase())) {
      // Content lines lose at most the fence's indentation (a block inside a list item).
      const code = lines.slice(i + 1, end).map((line) => line.startsWith(indent) ? line.slice(indent.length) : line.trimStart())
      let fileName: string | null = null
      for (let above = i - 1; above >= 0 && ANY_COMMENT.test(lines[above] ?? ''); above--) {
        fileName = FILE_COMMENT.exec(lines[above] ?? '')?.[1] ?? fileName
      }
      blocks.push({ markdown, index: blocks.length + 1, firstLine: i + 2, code: code.join('\n') + '\n', fileName })
    }
    i = end
  }
  return blocks
}

function trackedMarkdown(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '*.md'], { cwd: ROOT, encoding: 'utf8' })
  return out.split('\0').filter((path) => path !== '')
}

/** Writes the blocks under SCRATCH; returns each written file's path (relative to ROOT, `/`-separated) and block. */
function writeBlocks(blocks: readonly Block[]): Map<string, Block> {
  rmSync(SCRATCH, { recursive: true, force: true })
  const files = new Map<string, Block>()
  for (const block of blocks) {
    const dir = join(SCRATCH, block.markdown.replace(/\.md$/i, ''))
    const file = join(dir, block.fileName ?? `block-${block.index}.ts`)
    const key = relative(ROOT, file).split(sep).join('/')
    const taken = files.get(key)
    if (taken !== undefined) {
      throw new Error(`${block.markdown}:${block.firstLine - 1}: file name ${block.fileName ?? ''} is already used by block ${taken.index}`)
    }
    mkdirSync(dir, { recursive: true })
    writeFileSync(file, block.code)
    files.set(key, block)
  }
  writeFileSync(join(SCRATCH, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2))
  return files
}

/** One diagnostic of tsc, at its Markdown place (`markdown` empty for one that is not about a block). */
interface Finding { readonly markdown: string, readonly line: number, text: string }

/**
 * tsc's diagnostics (`--pretty false`), each moved to its Markdown place, in the order of the Markdown files. A
 * diagnostic is one line `path(line,col): error TS...: message`, and its continuation lines are indented.
 */
function report(output: string, files: ReadonlyMap<string, Block>): string[] {
  const findings: Finding[] = []
  for (const line of output.split(/\r?\n/)) {
    if (line.trim() === '') continue
    const last = findings.at(-1)
    const diagnostic = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line)
    const block = diagnostic === null ? undefined : files.get(diagnostic[1]?.split(sep).join('/') ?? '')
    if (diagnostic !== null && block !== undefined) {
      const markdownLine = block.firstLine + Number(diagnostic[2]) - 1
      findings.push({ markdown: block.markdown, line: markdownLine, text: `${block.markdown}:${markdownLine} (block ${block.index}): ${diagnostic[4] ?? ''}` })
    } else if (/^\s/.test(line) && last !== undefined) {
      last.text += `\n${line}`
    } else {
      // Not about a block (the configuration, a declaration file): shown first, as tsc wrote it.
      findings.push({ markdown: '', line: 0, text: line })
    }
  }
  // A stable sort: diagnostics of one line keep tsc's order.
  findings.sort((a, b) => a.markdown.localeCompare(b.markdown) || a.line - b.line)
  return findings.map((finding) => finding.text)
}

function main(): number {
  const blocks = trackedMarkdown().flatMap((markdown) => typeScriptBlocks(markdown, readFileSync(join(ROOT, markdown), 'utf8')))
  if (blocks.length === 0) {
    console.error('check:docs: no TypeScript block found in the tracked Markdown files')
    return 1
  }
  try {
    const files = writeBlocks(blocks)
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    const run = spawnSync(process.execPath, [tsc, '-p', relative(ROOT, SCRATCH), '--pretty', 'false'], { cwd: ROOT, encoding: 'utf8' })
    if (run.error !== undefined) throw run.error
    const messages = report(`${run.stdout}\n${run.stderr}`, files)
    if (run.status !== 0 || messages.length > 0) {
      for (const message of messages) console.error(message)
      console.error(`check:docs: ${messages.length} error(s) in the TypeScript blocks of the Markdown files (tsc exited ${run.status ?? 'by a signal'})`)
      return 1
    }
    const markdowns = new Set(blocks.map((b) => b.markdown)).size
    console.log(`check:docs: ${blocks.length} TypeScript blocks in ${markdowns} Markdown files compile`)
    return 0
  } finally {
    rmSync(SCRATCH, { recursive: true, force: true })
  }
}

process.exitCode = main()
