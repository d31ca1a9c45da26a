import { readFileSync } from 'node:fs'

/** One instruction of a Dockerfile: its keyword, its flags (`--from=build`) and its arguments. */
export interface Instruction {
  readonly keyword: string
  readonly flags: Readonly<Record<string, string>>
  /** Arguments: the exec form's JSON array, or the words of the shell form (RUN keeps its whole command line). */
  readonly args: readonly string[]
}

/** One stage: `FROM image AS name`. */
export interface Stage {
  readonly image: string
  readonly name: string
  readonly instructions: readonly Instruction[]
}

/**
 * Parses the subset of Dockerfile syntax our Dockerfile uses: comments, line continuations, ARG defaults in
 * FROM, flags, the exec (JSON) and shell forms. Anything else throws, so the replay never silently skips a step.
 */
export function parseDockerfile(file: string): Stage[] {
  const text = readFileSync(file, 'utf8').replace(/\\\r?\n/g, ' ')
  const args = new Map<string, string>()
  const stages: { image: string, name: string, instructions: Instruction[] }[] = []
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const [, keywordText = '', restText = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    const keyword = keywordText.toUpperCase()
    let rest = restText
    const flags: Record<string, string> = {}
    for (let m = /^--([a-z-]+)=(\S+)\s+/.exec(rest); m !== null; m = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
      flags[m[1] as string] = m[2] as string
      rest = rest.slice(m[0].length)
    }
    if (keyword === 'ARG') {
      const [name = '', value = ''] = rest.split('=')
      args.set(name, value)
      continue
    }
    if (keyword === 'FROM') {
      const [image = '', as, name] = rest.replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? '').split(/\s+/)
      if (as?.toUpperCase() !== 'AS' || name === undefined) throw new Error(`every stage needs a name: ${line}`)
      stages.push({ image, name, instructions: [] })
      continue
    }
    const stage = stages[stages.length - 1]
    if (stage === undefined) throw new Error(`instruction before FROM: ${line}`)
    let parsed: string[]
    if (keyword === 'RUN') parsed = [rest]
    else if (rest.startsWith('[')) parsed = JSON.parse(rest) as string[]
    else if (keyword === 'HEALTHCHECK') {
      const cmd = /^CMD\s+(\[.*\])$/.exec(rest)
      if (cmd === null) throw new Error(`HEALTHCHECK must use CMD [...]: ${line}`)
      parsed = JSON.parse(cmd[1] as string) as string[]
    } else parsed = rest.split(/\s+/)
    if (!['WORKDIR', 'COPY', 'RUN', 'ENV', 'USER', 'EXPOSE', 'HEALTHCHECK', 'CMD'].includes(keyword)) {
      throw new Error(`the replay does not know ${keyword}`)
    }
    stage.instructions.push({ keyword, flags, args: parsed })
  }
  return stages
}

/** A `.dockerignore` as a predicate on context-relative paths (`*`, `**`, `?`, and `!` exceptions). */
export function dockerignore(file: string): (path: string) => boolean {
  const rules = readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!')
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '')
      const source = pattern.split('/').map((part) => part === '**'
        ? '(?:.*)'
        : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('/')
      return { negate, regex: new RegExp(`^${source.replace(/\(\?:\.\*\)\//g, '(?:.*/)?')}(?:/.*)?$`) }
    })
  return (path: string) => {
    let ignored = false
    for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.negate
    return ignored
  }
}
