/**
 * Google's Pub/Sub and Firestore emulators for the test harness and `mlops stack up`: started,
 * waited for until they answer, and stopped when the suite ends.
 *
 * Where to find an emulator, in order:
 * 1. `PUBSUB_EMULATOR_HOST` / `FIRESTORE_EMULATOR_HOST` already set: use that running emulator
 *    (e.g. `docker compose up pubsub firestore`) and leave it running.
 * 2. A Docker engine answers testcontainers (see docker-engine.ts): Google's Cloud SDK emulators
 *    image (the one docker-compose.yml uses) in a throw-away container on a free port.
 * 3. The Cloud SDK (`CLOUDSDK_ROOT_DIR`, the usual install folders, then `gcloud info`) with its
 *    emulator component and a `java` on the PATH: a child process on a free loopback port, stopped
 *    with its whole process group (the Firestore launcher is a shell script that forks a JVM).
 * 4. None of these: the suites are skipped with the reason printed (never silently).
 *
 * `startEmulator` prints which one it used.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { dockerSupport, startContainer } from './docker-engine.js';

/** The emulators this harness knows. */
export type EmulatorKind = 'pubsub' | 'firestore';

/** Whether an emulator can be used here, and how (or why not). */
export type EmulatorSupport =
  | { available: true; via: 'env'; host: string }
  | { available: true; via: 'sdk'; command: string }
  | { available: true; via: 'docker'; image: string; runtime: string }
  | { available: false; reason: string };

/** A running emulator. */
export interface RunningEmulator {
  kind: EmulatorKind;
  /** `127.0.0.1:<port>` */
  host: string;
  /** Stop it (a no-op for an emulator this harness did not start). */
  stop(): Promise<void>;
}

const ENV_VARIABLE: Record<EmulatorKind, string> = {
  pubsub: 'PUBSUB_EMULATOR_HOST',
  firestore: 'FIRESTORE_EMULATOR_HOST',
};
const BINARY: Record<EmulatorKind, string> = {
  pubsub: 'platform/pubsub-emulator/bin/cloud-pubsub-emulator',
  firestore: 'platform/cloud-firestore-emulator/cloud_firestore_emulator',
};
/** Google's Cloud SDK image with the emulators (as in docker-compose.yml); `MLOPS_EMULATOR_IMAGE` overrides it. */
export const EMULATOR_IMAGE = 'gcr.io/google.com/cloudsdktool/google-cloud-cli:emulators';
const SDK_CANDIDATES = [
  '/usr/lib/google-cloud-sdk',
  '/usr/share/google-cloud-sdk',
  '/opt/google-cloud-sdk',
  join(homedir(), 'google-cloud-sdk'),
];

let sdkRootCache: string | null | undefined;

/** The Cloud SDK root folder, or null when no SDK is installed. */
export function cloudSdkRoot(): string | null {
  if (sdkRootCache !== undefined) return sdkRootCache;
  const fromEnv = process.env.CLOUDSDK_ROOT_DIR;
  const candidates = [...(fromEnv ? [fromEnv] : []), ...SDK_CANDIDATES];
  sdkRootCache = candidates.find((dir) => existsSync(join(dir, 'platform'))) ?? null;
  if (sdkRootCache === null) {
    try {
      const root = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
        encoding: 'utf8',
        timeout: 20_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      sdkRootCache = root && existsSync(root) ? root : null;
    } catch {
      sdkRootCache = null;
    }
  }
  return sdkRootCache;
}

function hasJava(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** Decide, without starting anything, whether the emulator can run here (used by `describe.skipIf`). */
export function emulatorSupport(kind: EmulatorKind): EmulatorSupport {
  const fromEnv = process.env[ENV_VARIABLE[kind]];
  if (fromEnv) return { available: true, via: 'env', host: fromEnv };
  const docker = dockerSupport();
  if (docker.available)
    return {
      available: true,
      via: 'docker',
      image: process.env.MLOPS_EMULATOR_IMAGE ?? EMULATOR_IMAGE,
      runtime: docker.runtime,
    };
  const root = cloudSdkRoot();
  if (!root) {
    return {
      available: false,
      reason: `${docker.reason}; no Google Cloud SDK found (looked in ${SDK_CANDIDATES.join(', ')} and \`gcloud info\`); and ${ENV_VARIABLE[kind]} is not set. Install the SDK's ${kind} emulator, or start one (docker compose) and set ${ENV_VARIABLE[kind]}`,
    };
  }
  const command = join(root, BINARY[kind]);
  if (!existsSync(command))
    return {
      available: false,
      reason: `the Cloud SDK at ${root} has no ${kind} emulator (${command}); run \`gcloud components install ${kind === 'pubsub' ? 'pubsub-emulator' : 'cloud-firestore-emulator'}\``,
    };
  if (!hasJava())
    return { available: false, reason: `the ${kind} emulator needs Java 11+ on the PATH and \`java -version\` failed` };
  return { available: true, via: 'sdk', command };
}

/**
 * Print why a suite is skipped and return true when it must be. Call at module level and pass the
 * result to `describe.skipIf`.
 */
export function skipWithoutEmulator(kind: EmulatorKind, suite: string): boolean {
  const support = emulatorSupport(kind);
  if (!support.available) console.warn(`[skip] ${suite}: ${support.reason}`);
  return !support.available;
}

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answers(host: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

const started = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // If the test worker dies without running afterAll, do not leave JVMs behind.
  process.on('exit', () => {
    for (const child of started) killGroup(child, 'SIGKILL');
  });
}

async function spawnEmulator(kind: EmulatorKind, command: string, timeoutMs: number): Promise<RunningEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const args =
    kind === 'pubsub' ? [`--host=127.0.0.1`, `--port=${port}`] : ['start', `--host=127.0.0.1`, `--port=${port}`];
  // detached: the child leads a new process group, so the launcher and its JVM stop together.
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  installExitHook();
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      started.delete(child);
      resolve();
    }),
  );

  const stop = async () => {
    if (exited) return;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
    await exitPromise;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited)
      throw new Error(
        `the ${kind} emulator exited (${exited.code ?? exited.signal}) before answering on ${host}:\n${output}`,
      );
    if (await answers(host)) return { kind, host, stop };
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  await stop();
  throw new Error(`the ${kind} emulator did not answer on ${host} within ${timeoutMs} ms:\n${output}`);
}

/** The emulator in a throw-away container of Google's image, through testcontainers. */
async function dockerEmulator(kind: EmulatorKind, image: string, timeoutMs: number): Promise<RunningEmulator> {
  const port = kind === 'pubsub' ? 8085 : 8086;
  const container = await startContainer({
    image,
    command: ['gcloud', 'beta', 'emulators', kind, 'start', '--project=mlops-test', `--host-port=0.0.0.0:${port}`],
    port,
    timeoutMs,
  });
  return { kind, host: container.host, stop: container.stop };
}

/**
 * Start (or attach to) an emulator and wait until it answers. Call in `beforeAll`, and `stop()` in
 * `afterAll`. A port taken between choosing it and the emulator binding it is retried.
 */
export async function startEmulator(
  kind: EmulatorKind,
  options: { timeoutMs?: number; announce?: (line: string) => void } = {},
): Promise<RunningEmulator> {
  // Without this, google-auth-library probes the GCE metadata server and warns on every client.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const announce = options.announce ?? ((line: string) => console.log(line));
  const support = emulatorSupport(kind);
  if (!support.available) throw new Error(`cannot start the ${kind} emulator: ${support.reason}`);
  if (support.via === 'env') {
    if (!(await answers(support.host)))
      throw new Error(`${ENV_VARIABLE[kind]}=${support.host} is set but nothing answers there`);
    announce(`[emulator] ${kind}: the running one at ${ENV_VARIABLE[kind]}=${support.host}`);
    return { kind, host: support.host, stop: async () => undefined };
  }
  if (support.via === 'docker') {
    // The first run pulls the image.
    const running = await dockerEmulator(kind, support.image, options.timeoutMs ?? 600_000);
    announce(`[emulator] ${kind}: ${support.image} through testcontainers (${support.runtime}) on ${running.host}`);
    return running;
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    try {
      const running = await spawnEmulator(kind, support.command, options.timeoutMs ?? 60_000);
      announce(`[emulator] ${kind}: the Cloud SDK's ${support.command} on ${running.host}`);
      return running;
    } catch (error) {
      lastError = error;
      if (!/address already in use|BindException/i.test(String(error))) break;
    }
  }
  throw lastError;
}

let counter = 0;

/** A project id unique to this process and call: isolates one test's topics, subscriptions and documents. */
export function uniqueProjectId(prefix = 'test'): string {
  counter += 1;
  return `${prefix}-${process.pid.toString(36)}${Date.now().toString(36).slice(-6)}-${counter}`.toLowerCase();
}
