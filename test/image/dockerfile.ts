/**
 * Just enough of a Dockerfile and .dockerignore to rebuild an image's stages as folders without a
 * Docker engine: the instructions this repository's Dockerfile uses, parsed strictly, so that an
 * instruction the rebuild cannot reproduce fails the test instead of being skipped.
 */
import { readFileSync } from 'node:fs';

/** One instruction, its flags (`--from=deps`) and its arguments (JSON or shell form). */
export interface Instruction {
  keyword: string;
  flags: Record<string, string>;
  args: string[];
  /** The arguments as written (the shell form of RUN and CMD). */
  raw: string;
  line: number;
}

/** A build stage: `FROM <base> [AS <name>]` and what follows it. */
export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** A Dockerfile this parser cannot follow; the message names the line. */
export class DockerfileError extends Error {
  readonly code = 'IMAGE.DOCKERFILE_UNSUPPORTED';
}

const KEYWORDS = new Set(['FROM', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'USER', 'EXPOSE', 'CMD', 'ENTRYPOINT', 'ARG']);

function splitArgs(raw: string, line: number): string[] {
  const text = raw.trim();
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed;
    } catch {
      // reported below
    }
    throw new DockerfileError(`line ${line}: the JSON form must be an array of strings: ${text}`);
  }
  return text.split(/\s+/).filter(Boolean);
}

/** Parse a Dockerfile's text into its stages (comments, blank lines and `\` continuations handled). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = index + 1;
    let logical = lines[index]!.trim();
    if (logical === '' || logical.startsWith('#')) continue;
    while (logical.endsWith('\\') && index + 1 < lines.length) {
      index += 1;
      const next = lines[index]!.trim();
      logical = `${logical.slice(0, -1).trimEnd()} ${next.startsWith('#') ? '' : next}`.trim();
    }
    const match = /^(\S+)\s*(.*)$/.exec(logical)!;
    const keyword = match[1]!.toUpperCase();
    if (!KEYWORDS.has(keyword)) throw new DockerfileError(`line ${line}: instruction ${keyword} is not supported here`);
    let rest = match[2]!;
    const flags: Record<string, string> = {};
    for (let flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest); flag; flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
      flags[flag[1]!] = flag[2]!;
      rest = rest.slice(flag[0].length);
    }
    const instruction: Instruction = { keyword, flags, args: splitArgs(rest, line), raw: rest.trim(), line };
    if (keyword === 'FROM') {
      const [base, as, name, ...extra] = instruction.args;
      if (!base || (as !== undefined && (as.toUpperCase() !== 'AS' || !name)) || extra.length > 0)
        throw new DockerfileError(`line ${line}: expected FROM <image> [AS <name>]`);
      stages.push({ name: name ?? String(stages.length), base, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new DockerfileError(`line ${line}: ${keyword} before the first FROM`);
    stage.instructions.push(instruction);
  }
  if (stages.length === 0) throw new DockerfileError('no FROM instruction');
  return stages;
}

/** Read and parse a Dockerfile. */
export function readDockerfile(path: string): Stage[] {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

function patternRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of folders, including none.
      source += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * The .dockerignore rules as a predicate over context-relative paths (`a/b/c`, no leading `./`):
 * a pattern excludes the path it matches and everything under it; `!pattern` includes again; the
 * last matching rule wins, as in Docker.
 */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!');
      const pattern = (include ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
      return { include, regex: patternRegex(pattern) };
    });
  return (path) => {
    const parts = path.split('/');
    let ignored = false;
    for (const rule of rules) {
      for (let depth = 1; depth <= parts.length; depth += 1)
        if (rule.regex.test(parts.slice(0, depth).join('/'))) {
          ignored = !rule.include;
          break;
        }
    }
    return ignored;
  };
}
