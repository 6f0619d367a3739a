/**
 * Compiles the Dataform project with the real Dataform CLI (`dataform compile --json`), offline.
 *
 * The CLI loads `@dataform/core` from `<project>/node_modules/@dataform/core` inside a vm2 sandbox
 * rooted at the project, so a symlink to the workspace's hoisted copy is refused. The compiler
 * therefore stages the project (workflow_settings.yaml, package.json, includes/, definitions/) in a
 * temporary folder next to a copy of the installed `@dataform/core` and compiles that. Nothing is
 * downloaded: the project pins `@dataform/core` in package.json instead of `dataformCoreVersion`.
 *
 * Compiling takes about a second, so compiled graphs are cached by the project's content hash, the
 * CLI and core versions and every var except the run-date vars (`run_dates`, `run_date_first`,
 * `run_date_last`). A cached graph was compiled with sentinel dates; the project uses those vars
 * only through `includes/run.js` (`dates()` renders a list of `date '<d>'` literals inside
 * parentheses or brackets, `first()` and `last()` one literal each), so the run's dates are
 * substituted for the sentinels' literals. The substitution refuses to reuse the graph (and
 * compiles for real) when a sentinel shows up in any other form or context, and a test checks a
 * substituted graph equals a fresh compilation.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  renameSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import {
  RUN_DATE_FIRST_SENTINEL,
  RUN_DATE_LAST_SENTINEL,
  RUN_DATES_SENTINEL,
  runDateVars,
  TransformErrors,
} from '@mlops/kernel';
import type { CompiledGraph } from './compiled-graph.js';

const SENTINELS = [RUN_DATES_SENTINEL, RUN_DATE_FIRST_SENTINEL, RUN_DATE_LAST_SENTINEL];

/** Files of the project that decide what it compiles to. */
const PROJECT_ENTRIES = ['workflow_settings.yaml', 'package.json', 'includes', 'definitions'];

/** Options of {@link DataformCompiler}. */
export interface DataformCompilerOptions {
  /** The Dataform project folder (holding workflow_settings.yaml). */
  projectDir: string;
  /** Folder for compiled graphs kept across processes (optional; the in-memory cache always applies). */
  cacheDir?: string;
  /** Compilation timeout (default 120 s). */
  timeoutMs?: number;
}

/** A compiled graph and how it was obtained. */
export interface Compilation {
  graph: CompiledGraph;
  /** Whether a cached graph was reused (with the run dates substituted). */
  cached: boolean;
  durationMs: number;
  /** The cache key: project content, tool versions and vars other than run_dates. */
  key: string;
  /**
   * The cached graph as compiled, with the sentinel run date in place of the run's dates (absent
   * when the graph was compiled for real): lets a runner translate once and bind dates per run.
   */
  template?: CompiledGraph;
}

function filesUnder(root: string, entry: string): string[] {
  const path = join(root, entry);
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [entry];
  return readdirSync(path)
    .filter((name) => name !== 'node_modules' && !name.startsWith('.'))
    .flatMap((name) => filesUnder(root, join(entry, name)));
}

/** SHA-256 over the project's compile inputs (paths and contents, in path order). */
export function projectContentHash(projectDir: string): string {
  const hash = createHash('sha256');
  const files = PROJECT_ENTRIES.flatMap((entry) => filesUnder(projectDir, entry)).sort();
  for (const file of files) {
    hash
      .update(file.split(sep).join('/'))
      .update('\u0000')
      .update(readFileSync(join(projectDir, file)))
      .update('\u0000');
  }
  return hash.digest('hex');
}

function packageDir(projectDir: string, name: string): string {
  // Resolve from the project itself, as the CLI would (the workspace install may hoist the
  // package); a project folder outside the checkout falls back to the platform's own install.
  for (const base of [join(projectDir, 'package.json'), import.meta.filename]) {
    try {
      return dirname(createRequire(base).resolve(`${name}/package.json`));
    } catch {
      // try the next base
    }
  }
  throw new Error(`cannot resolve ${name}`);
}

function versionOf(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
}

/** `date '<d>'` for each run date, as includes/run.js renders them. */
function dateLiterals(runDates: readonly string[]): string {
  return runDates.map((date) => `date '${date}'`).join(', ');
}

function mapStrings<T>(value: T, map: (text: string) => string): T {
  if (typeof value === 'string') return map(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => mapStrings(item, map)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, mapStrings(inner, map)])) as T;
  }
  return value;
}

/**
 * `text` with every occurrence of `literal` replaced, or undefined when an occurrence is not
 * delimited as a list item is (by "(" or "[" before and ")" or "]" after, spaces aside).
 */
export function replaceListLiteral(text: string, literal: string, replacement: string): string | undefined {
  const parts = text.split(literal);
  for (let index = 0; index < parts.length - 1; index += 1) {
    if (!/[([]\s*$/.test(parts[index]!) || !/^\s*[)\]]/.test(parts[index + 1]!)) return undefined;
  }
  return parts.join(replacement);
}

/**
 * The graph with the sentinel dates replaced by the run's, or undefined when a sentinel appears
 * other than as its `date '<sentinel>'` literal in its place (the graph then cannot be reused).
 */
export function substituteRunDates(graph: CompiledGraph, runDates: readonly string[]): CompiledGraph | undefined {
  const vars = runDateVars(runDates);
  let faithful = true;
  // The vars record what the graph was compiled with; they are set below, not substituted.
  const { projectConfig, ...actions } = graph;
  const substituted: CompiledGraph = mapStrings(actions, (text) => {
    if (!SENTINELS.some((sentinel) => text.includes(sentinel))) return text;
    const listed = replaceListLiteral(
      text,
      dateLiterals([RUN_DATES_SENTINEL]),
      dateLiterals(vars.run_dates.split(' ')),
    );
    if (listed === undefined) {
      faithful = false;
      return text;
    }
    const replaced = listed
      .split(dateLiterals([RUN_DATE_FIRST_SENTINEL]))
      .join(dateLiterals([vars.run_date_first]))
      .split(dateLiterals([RUN_DATE_LAST_SENTINEL]))
      .join(dateLiterals([vars.run_date_last]));
    if (SENTINELS.some((sentinel) => replaced.includes(sentinel))) faithful = false;
    return replaced;
  });
  if (!faithful) return undefined;
  if (projectConfig) substituted.projectConfig = { ...projectConfig, vars: { ...(projectConfig.vars ?? {}), ...vars } };
  return substituted;
}

function checkVar(name: string, value: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw TransformErrors.invalidVar(name, 'is not a valid var name');
  // The CLI splits --vars on "," and "=": such values would be cut silently.
  if (/[,=\n\r]/.test(value)) throw TransformErrors.invalidVar(name, 'must not contain ",", "=" or line breaks');
}

/**
 * Compiles the project with the Dataform CLI and caches the compiled graphs. Safe to share: one
 * compiler per project folder per process.
 */
export class DataformCompiler {
  private readonly memory = new Map<string, Promise<CompiledGraph>>();
  private readonly cliDir: string;
  private readonly coreDir: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: DataformCompilerOptions) {
    if (!existsSync(join(options.projectDir, 'workflow_settings.yaml'))) {
      throw TransformErrors.compilationFailed(`no workflow_settings.yaml in ${options.projectDir}`);
    }
    try {
      this.cliDir = packageDir(options.projectDir, '@dataform/cli');
      this.coreDir = packageDir(options.projectDir, '@dataform/core');
    } catch (error) {
      throw TransformErrors.compilationFailed(
        '@dataform/cli and @dataform/core must be installed (npm ci installs them with the dataform workspace)',
        error,
      );
    }
    this.timeoutMs = options.timeoutMs ?? 120_000;
    // A project that writes a sentinel itself would be corrupted by substitution: never cache it.
    this.cacheable = !PROJECT_ENTRIES.flatMap((entry) => filesUnder(options.projectDir, entry)).some((file) => {
      const text = readFileSync(join(options.projectDir, file), 'utf8');
      return SENTINELS.some((sentinel) => text.includes(sentinel));
    });
  }

  /** Whether compiled graphs may be reused with substituted run dates (see the module comment). */
  readonly cacheable: boolean;

  /** The versions compiling with: the CLI's and the core's. */
  get versions(): { cli: string; core: string } {
    return { cli: versionOf(this.cliDir), core: versionOf(this.coreDir) };
  }

  /** The cache key of a compilation with these vars (the run-date vars excluded). */
  cacheKey(vars: Readonly<Record<string, string>>): string {
    const { run_dates: _dates, run_date_first: _first, run_date_last: _last, ...rest } = vars;
    const hash = createHash('sha256');
    hash.update(projectContentHash(this.options.projectDir));
    hash.update(
      JSON.stringify({
        ...this.versions,
        vars: Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b))),
      }),
    );
    return hash.digest('hex').slice(0, 32);
  }

  /**
   * The graph for these run dates and vars: from the cache when the project has not changed (the run
   * dates substituted), else compiled by the CLI.
   */
  async compile(runDates: readonly string[], vars: Readonly<Record<string, string>> = {}): Promise<Compilation> {
    const started = performance.now();
    const { run_dates: _dates, run_date_first: _first, run_date_last: _last, ...otherVars } = vars;
    vars = otherVars;
    for (const [name, value] of Object.entries(vars)) checkVar(name, value);
    const key = this.cacheKey(vars);
    let cached = true;
    let template = this.cacheable ? this.memory.get(key) : undefined;
    if (!template && this.cacheable) {
      const fromDisk = this.readDisk(key);
      if (!fromDisk) cached = false;
      const sentinels = {
        run_dates: RUN_DATES_SENTINEL,
        run_date_first: RUN_DATE_FIRST_SENTINEL,
        run_date_last: RUN_DATE_LAST_SENTINEL,
      };
      template = fromDisk
        ? Promise.resolve(fromDisk)
        : this.compileWithCli({ ...vars, ...sentinels }).then((graph) => (this.writeDisk(key, graph), graph));
      this.memory.set(key, template);
      template.catch(() => this.memory.delete(key));
    }
    const compiledTemplate = template ? await template : undefined;
    const graph = compiledTemplate ? substituteRunDates(compiledTemplate, runDates) : undefined;
    if (!graph) {
      // The project uses run_dates in a way substitution cannot reproduce: compile for real.
      const real = await this.compileWithCli({ ...vars, ...runDateVars(runDates) });
      return { graph: real, cached: false, durationMs: performance.now() - started, key };
    }
    return { graph, cached, durationMs: performance.now() - started, key, template: compiledTemplate! };
  }

  /** Compile with exactly these vars through the CLI, without the cache. */
  async compileWithCli(vars: Readonly<Record<string, string>>): Promise<CompiledGraph> {
    for (const [name, value] of Object.entries(vars)) checkVar(name, value);
    const stage = mkdtempSync(join(tmpdir(), 'mlops-dataform-'));
    try {
      for (const entry of PROJECT_ENTRIES) {
        const source = join(this.options.projectDir, entry);
        if (existsSync(source))
          cpSync(source, join(stage, entry), {
            recursive: true,
            filter: (path) => !relative(source, path).split(sep).includes('node_modules'),
          });
      }
      cpSync(this.coreDir, join(stage, 'node_modules', '@dataform', 'core'), { recursive: true });
      const args = [
        join(this.cliDir, 'bundle.js'),
        'compile',
        stage,
        '--json',
        `--timeout=${Math.round(this.timeoutMs / 1000)}s`,
      ];
      const varList = Object.entries(vars).map(([name, value]) => `${name}=${value}`);
      if (varList.length > 0) args.push(`--vars=${varList.join(',')}`);
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          args,
          {
            cwd: stage,
            maxBuffer: 256 * 1024 * 1024,
            timeout: this.timeoutMs + 10_000,
            env: { ...process.env, NO_COLOR: '1' },
          },
          (error, out, err) => {
            if (error)
              reject(
                TransformErrors.compilationFailed(
                  `${error.message.split('\n')[0]}${err ? `: ${stripAnsi(err).trim().slice(0, 2000)}` : ''}`,
                  error,
                ),
              );
            else resolve(out);
          },
        );
      });
      let graph: CompiledGraph;
      try {
        graph = JSON.parse(stdout) as CompiledGraph;
      } catch (error) {
        throw TransformErrors.compilationFailed(
          `the CLI did not print a compiled graph: ${stdout.slice(0, 200)}`,
          error,
        );
      }
      const errors = graph.graphErrors?.compilationErrors ?? [];
      if (errors.length > 0) {
        throw TransformErrors.compilationFailed(
          errors
            .map((error) => `${error.fileName ?? 'project'}: ${error.message ?? 'unknown error'}`)
            .join('; ')
            .slice(0, 3000),
        );
      }
      return graph;
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }

  private readDisk(key: string): CompiledGraph | undefined {
    if (!this.options.cacheDir) return undefined;
    const path = join(this.options.cacheDir, `${key}.json`);
    if (!existsSync(path)) return undefined;
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as CompiledGraph;
    } catch {
      return undefined; // a torn or foreign file: compile again
    }
  }

  private writeDisk(key: string, graph: CompiledGraph): void {
    if (!this.options.cacheDir) return;
    mkdirSync(this.options.cacheDir, { recursive: true });
    const path = join(this.options.cacheDir, `${key}.json`);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(graph));
    renameSync(temporary, path);
  }
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
