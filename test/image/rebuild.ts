/**
 * Rebuild the Dockerfile's last stage as a folder, without a Docker engine. The image's working
 * directory (/app) is the folder; each stage is rebuilt from what it copies:
 *
 * - from the build context: the files `COPY` names, filtered by .dockerignore;
 * - from another stage: that stage rebuilt the same way (cached by its inputs, as Docker caches
 *   layers, because `npm ci` compiles better-sqlite3 from source where no prebuilt downloads);
 * - from the compiling stage (`RUN npm ci`, `COPY . .`, `RUN npm run build`): the checkout after
 *   `npm run build`, which is what that stage holds.
 *
 * `RUN` may only install OS packages (the host has its own), create or chown folders outside /app,
 * or run `npm ci` / `npm run build`; anything else fails, so the test follows the Dockerfile.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { DockerfileError, dockerignore, type Instruction, type Stage } from './dockerfile.js';

/** The rebuilt last stage. */
export interface RebuiltStage {
  /** The folder that is the image's working directory. */
  dir: string;
  workdir: string;
  /** `ENV` of the stage (and the stages it derives from). */
  env: Record<string, string>;
  /** `CMD` in JSON form. */
  cmd: string[];
}

/** Options of {@link rebuildLastStage}. */
export interface RebuildOptions {
  stages: Stage[];
  /** The build context (the repository root). */
  context: string;
  /** Where to put the rebuilt stage (must not exist). */
  outDir: string;
  /** Where the stages before the last are kept by the hash of their inputs (`npm ci` is slow). */
  cacheDir: string;
  /** Runs `npm <args>` in a folder; rejects on a non-zero exit. */
  npm: (args: string[], cwd: string) => Promise<void>;
  log?: (line: string) => void;
}

type StageResult = { dir: string; key: string; env: Record<string, string>; cmd: string[] };

/** Run a command to completion; rejects with its output's tail on a non-zero exit. */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-6_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code} in ${cwd}:\n${output}`)),
    );
  });
}

/** A COPY source as a context-relative path (`''` for the whole context). */
function contextPath(source: string): string {
  return posix
    .normalize(source)
    .replace(/^\.(\/|$)/, '')
    .replace(/\/$/, '');
}

function contextEntries(context: string, source: string, ignored: (path: string) => boolean): string[] {
  const clean = contextPath(source);
  if (clean.startsWith('..') || posix.isAbsolute(clean) || /[*?[]/.test(clean))
    throw new DockerfileError(`COPY source ${source} must be a plain path inside the context`);
  const walk = (path: string): string[] => {
    if (path !== '' && ignored(path)) return [];
    const full = join(context, path);
    const stat = statSync(full, { throwIfNoEntry: false });
    if (!stat) return [];
    if (!stat.isDirectory()) return [path];
    return readdirSync(full)
      .sort()
      .flatMap((name) => walk(path === '' ? name : `${path}/${name}`));
  };
  const files = walk(clean);
  if (files.length === 0) throw new DockerfileError(`COPY source ${source} is missing from the context or ignored`);
  return files;
}

function hashFiles(hash: ReturnType<typeof createHash>, root: string, files: readonly string[]): void {
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(root, file)))
      .update('\0');
}

/** The target of `COPY <source> <dest>` for a file at `relative` below the source. */
function target(dest: string, workdir: string, sourceIsDir: boolean, sourceName: string, relative: string): string {
  const absolute = posix.isAbsolute(dest) ? dest : posix.join(workdir, dest);
  if (!(absolute + '/').startsWith(workdir + '/'))
    throw new DockerfileError(`COPY destination ${dest} is outside the working directory ${workdir}`);
  const inWorkdir = posix.relative(workdir, absolute);
  if (sourceIsDir) return posix.join(inWorkdir, relative);
  return dest.endsWith('/') || dest === '.' || dest === './' ? posix.join(inWorkdir, sourceName) : inWorkdir;
}

const SYSTEM_STEP = [
  /^apt-get (update|install)( [^&]*)?$/,
  /^rm -rf \/var\/lib\/apt\/lists\/\*$/,
  /^mkdir -p (\/\S+)$/,
  /^chown (-R )?\S+ (\/\S+)$/,
];

function runSteps(instruction: Instruction, workdir: string): string[][] {
  const steps = instruction.raw.split('&&').map((step) => step.trim());
  const npm: string[][] = [];
  for (const step of steps) {
    const system = SYSTEM_STEP.map((regex) => regex.exec(step)).find(Boolean);
    if (system) {
      const path = system[system.length - 1];
      if (path?.startsWith('/') && (path + '/').startsWith(workdir + '/'))
        throw new DockerfileError(`line ${instruction.line}: ${step} touches the working directory`);
      continue;
    }
    if (/^npm (ci( --[a-z-]+(=\S+)?)*|run build)$/.test(step)) npm.push(step.split(' ').slice(1));
    else throw new DockerfileError(`line ${instruction.line}: RUN ${step} cannot be reproduced without Docker`);
  }
  return npm;
}

/** Stage folders kept per stage name (each `npm ci` is hundreds of MB), most recently used first. */
const CACHE_KEEP = 3;

/** Remove all but the most recently used folders of each stage, and builds abandoned a day ago. */
async function pruneCache(cacheDir: string, log: (line: string) => void): Promise<void> {
  const entries = readdirSync(cacheDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ name: entry.name, used: statSync(join(cacheDir, entry.name)).mtimeMs }));
  const doomed = entries.filter((entry) => entry.name.endsWith('.building') && Date.now() - entry.used > 86_400_000);
  const byStage = new Map<string, typeof entries>();
  for (const entry of entries.filter((entry) => !entry.name.endsWith('.building'))) {
    const stage = entry.name.replace(/-[0-9a-f]{16}$/, '');
    byStage.set(stage, [...(byStage.get(stage) ?? []), entry]);
  }
  for (const kept of byStage.values()) doomed.push(...kept.sort((a, b) => b.used - a.used).slice(CACHE_KEEP));
  for (const entry of doomed) {
    log(`cache: removing ${entry.name}`);
    await run('rm', ['-rf', join(cacheDir, entry.name)], cacheDir, process.env);
  }
}

/** Rebuild the last stage of the Dockerfile into `outDir`. */
export async function rebuildLastStage(options: RebuildOptions): Promise<RebuiltStage> {
  const { stages, context } = options;
  const ignored = dockerignore(readFileSync(join(context, '.dockerignore'), 'utf8'));
  const log = options.log ?? (() => undefined);
  const results = new Map<string, StageResult>();
  let checkoutBuilt = false;

  const rebuild = async (stage: Stage, outDir: string | undefined): Promise<StageResult> => {
    const done = results.get(stage.name);
    if (done && outDir === undefined) return done;
    const parent = stages.find((other) => other.name === stage.base && other !== stage);
    const base = parent ? await rebuild(parent, undefined) : undefined;
    const runs = stage.instructions.filter((instruction) => instruction.keyword === 'RUN');
    const commands = runs.flatMap((instruction) => runSteps(instruction, '/app'));
    const compiles = commands.some((args) => args.join(' ') === 'run build');
    if (compiles) {
      // The compiling stage is the checkout: it must copy the whole context before it builds.
      const shape = stage.instructions
        .filter((instruction) => instruction.keyword === 'COPY' || instruction.keyword === 'RUN')
        .map((instruction) => `${instruction.keyword} ${instruction.raw}`);
      if (shape.join(' | ') !== 'RUN npm ci | COPY . . | RUN npm run build')
        throw new DockerfileError(
          `stage ${stage.name} must be RUN npm ci, COPY . ., RUN npm run build to be rebuilt from the checkout (got ${shape.join(', ')})`,
        );
      if (!checkoutBuilt) {
        log(`stage ${stage.name}: npm run build in the checkout`);
        await options.npm(['run', 'build'], context);
        checkoutBuilt = true;
      }
      const result = { dir: context, key: 'checkout', env: base?.env ?? {}, cmd: [] };
      results.set(stage.name, result);
      return result;
    }

    // Inputs first (for the cache key), then the folder.
    let workdir = '/app';
    const env: Record<string, string> = { ...(base?.env ?? {}) };
    let cmd: string[] = base?.cmd ?? [];
    const hash = createHash('sha256').update(base?.key ?? stage.base);
    const copies: { from?: StageResult; files: string[]; root: string; instruction: Instruction }[] = [];
    for (const instruction of stage.instructions) {
      hash.update(`${instruction.keyword} ${JSON.stringify(instruction.flags)} ${instruction.raw}\n`);
      if (instruction.keyword === 'WORKDIR') {
        workdir = instruction.args[0] ?? '';
        if (workdir !== '/app') throw new DockerfileError(`line ${instruction.line}: WORKDIR must be /app`);
      } else if (instruction.keyword === 'ENV') {
        for (const pair of instruction.args) {
          const [name, ...value] = pair.split('=');
          if (!name || value.length === 0)
            throw new DockerfileError(`line ${instruction.line}: ENV must be NAME=value`);
          env[name] = value.join('=');
        }
      } else if (instruction.keyword === 'CMD') cmd = instruction.args;
      else if (instruction.keyword === 'ENTRYPOINT' || instruction.keyword === 'ARG')
        throw new DockerfileError(`line ${instruction.line}: ${instruction.keyword} is not reproduced by this test`);
      else if (instruction.keyword === 'COPY') {
        const unknown = Object.keys(instruction.flags).filter((flag) => flag !== 'from');
        if (unknown.length > 0 || instruction.args.length < 2)
          throw new DockerfileError(`line ${instruction.line}: expected COPY [--from=<stage>] <source>... <dest>`);
        const from = instruction.flags.from;
        if (from !== undefined) {
          const source = stages.find((other) => other.name === from);
          if (!source) throw new DockerfileError(`line ${instruction.line}: no stage named ${from}`);
          const rebuilt = await rebuild(source, undefined);
          hash.update(rebuilt.key);
          copies.push({ from: rebuilt, files: [], root: rebuilt.dir, instruction });
        } else {
          const files = instruction.args.slice(0, -1).flatMap((source) => contextEntries(context, source, ignored));
          hashFiles(hash, context, files);
          copies.push({ files, root: context, instruction });
        }
      }
    }
    hash.update(`${process.version} ${process.platform} ${process.arch}`);
    const key = hash.digest('hex').slice(0, 16);
    // Stages other than the last are kept by their inputs' hash, as Docker keeps layers.
    const finalDir = outDir ?? join(options.cacheDir, `${stage.name}-${key}`);
    if (outDir === undefined && existsSync(finalDir)) {
      log(`stage ${stage.name}: cached (${key})`);
      const now = new Date();
      utimesSync(finalDir, now, now);
      const result = { dir: finalDir, key, env, cmd };
      results.set(stage.name, result);
      return result;
    }

    const building = `${finalDir}.${process.pid}.building`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    if (base) cpSync(base.dir, building, { recursive: true, verbatimSymlinks: true });
    for (const copy of copies) {
      const { instruction } = copy;
      const dest = instruction.args.at(-1)!;
      if (copy.from) {
        for (const source of instruction.args.slice(0, -1)) {
          if (!(source + '/').startsWith('/app/') && source !== '/app')
            throw new DockerfileError(`line ${instruction.line}: COPY --from sources must be under /app`);
          const inStage = join(copy.root, posix.relative('/app', source));
          if (!existsSync(inStage))
            throw new DockerfileError(
              `line ${instruction.line}: ${source} does not exist in stage ${instruction.flags.from}`,
            );
          const isDir = statSync(inStage).isDirectory();
          const to = join(building, target(dest, workdir, isDir, posix.basename(source), ''));
          mkdirSync(isDir ? to : dirname(to), { recursive: true });
          cpSync(inStage, to, { recursive: true, verbatimSymlinks: true });
        }
      } else {
        for (const source of instruction.args.slice(0, -1)) {
          const clean = contextPath(source);
          const isDir = clean === '' || statSync(join(context, clean)).isDirectory();
          for (const file of contextEntries(context, source, ignored)) {
            const relative = isDir ? posix.relative(clean === '' ? '.' : clean, file) : '';
            const to = join(building, target(dest, workdir, isDir, posix.basename(clean), relative));
            mkdirSync(dirname(to), { recursive: true });
            cpSync(join(context, file), to, { verbatimSymlinks: true });
          }
        }
      }
    }
    for (const args of commands) {
      log(`stage ${stage.name}: npm ${args.join(' ')}`);
      await options.npm(args[0] === 'ci' ? [...args, '--prefer-offline'] : args, building);
    }
    if (outDir === undefined && existsSync(finalDir)) rmSync(building, { recursive: true, force: true });
    else renameSync(building, finalDir);
    const result = { dir: finalDir, key, env, cmd };
    if (outDir === undefined) results.set(stage.name, result);
    return result;
  };

  const last = stages.at(-1)!;
  const result = await rebuild(last, options.outDir);
  await pruneCache(options.cacheDir, log);
  return { dir: result.dir, workdir: '/app', env: result.env, cmd: result.cmd };
}
