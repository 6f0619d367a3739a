/**
 * A Docker engine for the emulator harness, through the `testcontainers` package (a development
 * dependency, loaded only here and only when an engine may answer). Detection is synchronous, for
 * `describe.skipIf` at module level, and quick where there is no engine: without `DOCKER_HOST` or a
 * Docker socket nothing is started; otherwise a child process asks testcontainers, which applies its
 * own strategies (environment, ~/.testcontainers.properties, sockets), with a timeout.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Whether testcontainers can reach a Docker engine here, or why not. */
export type DockerSupport = { available: true; runtime: string } | { available: false; reason: string };

/** What {@link detectDocker} reads; tests pass their own. */
export interface DockerProbe {
  env: Record<string, string | undefined>;
  exists: (path: string) => boolean;
  /** Where `testcontainers` is installed, or null. */
  resolveTestcontainers: () => string | null;
  /** Ask testcontainers for its container runtime: its description, or an error saying why not. */
  askTestcontainers: (timeoutMs: number) => string;
}

/** The sockets a local Docker engine (or Docker Desktop, rootless Docker, Colima) listens on. */
export function dockerSockets(env: Record<string, string | undefined>, home = homedir()): string[] {
  return [
    '/var/run/docker.sock',
    join(home, '.docker/run/docker.sock'),
    join(home, '.docker/desktop/docker.sock'),
    join(home, '.colima/default/docker.sock'),
    ...(env.XDG_RUNTIME_DIR ? [join(env.XDG_RUNTIME_DIR, 'docker.sock')] : []),
  ];
}

const ASK_SCRIPT = `
const { getContainerRuntimeClient } = await import(process.argv[1]);
const client = await getContainerRuntimeClient();
const { host, serverVersion } = client.info.containerRuntime;
console.log(JSON.stringify(host + ' (Docker ' + serverVersion + ')'));
process.exit(0);
`;

/** The probe of this machine. */
export function systemDockerProbe(): DockerProbe {
  return {
    env: process.env,
    exists: existsSync,
    resolveTestcontainers: () => {
      try {
        return createRequire(import.meta.url).resolve('testcontainers');
      } catch {
        return null;
      }
    },
    askTestcontainers: (timeoutMs) => {
      const path = createRequire(import.meta.url).resolve('testcontainers');
      try {
        const out = execFileSync(process.execPath, ['--input-type=module', '-e', ASK_SCRIPT, path], {
          encoding: 'utf8',
          timeout: timeoutMs,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, DEBUG: '' },
        });
        return JSON.parse(out.trim().split('\n').at(-1)!) as string;
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ETIMEDOUT')
          throw new Error(`testcontainers did not answer within ${timeoutMs} ms`, { cause: error });
        const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
        const last = stderr.split('\n').filter(Boolean).at(-1);
        throw new Error(last ?? ((error as Error).message || 'no answer'), { cause: error });
      }
    },
  };
}

/** Decide whether the emulators can run in Docker containers through testcontainers. */
export function detectDocker(probe: DockerProbe = systemDockerProbe(), timeoutMs = 30_000): DockerSupport {
  if (probe.env.MLOPS_EMULATORS_DOCKER === 'false') return { available: false, reason: 'MLOPS_EMULATORS_DOCKER=false' };
  if (!probe.resolveTestcontainers())
    return { available: false, reason: 'the testcontainers package is not installed (a development dependency)' };
  const sockets = dockerSockets(probe.env);
  if (!probe.env.DOCKER_HOST && !sockets.some((socket) => probe.exists(socket)))
    return {
      available: false,
      reason: `no Docker engine: DOCKER_HOST is not set and there is no socket at ${sockets.join(', ')}`,
    };
  try {
    return { available: true, runtime: probe.askTestcontainers(timeoutMs) };
  } catch (error) {
    return {
      available: false,
      reason: `no Docker engine answers testcontainers: ${(error as Error).message}`,
    };
  }
}

let cached: DockerSupport | undefined;

/** {@link detectDocker} on this machine, once per process. */
export function dockerSupport(): DockerSupport {
  cached ??= detectDocker();
  return cached;
}

/** A throw-away container of {@link startContainer}. */
export interface StartedContainer {
  /** `<host>:<port>` of the published port. */
  host: string;
  stop(): Promise<void>;
}

/** What {@link startContainer} runs. */
export interface ContainerSpec {
  image: string;
  command: readonly string[];
  /** The port the server listens on inside the container. */
  port: number;
  /** Publish on this host port (default: one Docker picks). */
  hostPort?: number;
  /** Answers 200 once the server is ready (default `/`). */
  healthPath?: string;
  timeoutMs: number;
}

/**
 * Start a container (an emulator) through testcontainers, which removes it when this process ends,
 * even on a crash, and wait until it answers HTTP 200 on `healthPath`.
 */
export async function startContainer(spec: ContainerSpec): Promise<StartedContainer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(spec.image)
    .withCommand([...spec.command])
    .withExposedPorts(spec.hostPort === undefined ? spec.port : { container: spec.port, host: spec.hostPort })
    .withLabels({ 'mlops-test-emulator': '1' })
    .withWaitStrategy(Wait.forHttp(spec.healthPath ?? '/', spec.port).forStatusCode(200))
    .withStartupTimeout(spec.timeoutMs)
    .start();
  const hostName = container.getHost() === 'localhost' ? '127.0.0.1' : container.getHost();
  let stopped = false;
  return {
    host: `${hostName}:${container.getMappedPort(spec.port)}`,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await container.stop();
    },
  };
}
