import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectDocker, dockerSockets, type DockerProbe } from '../src/tooling/docker-engine.js';
import { cloudSdkRoot, emulatorSupport } from '@mlops/testing/suites';

function probe(overrides: Partial<DockerProbe>): DockerProbe & { asked: number } {
  const state = {
    asked: 0,
    env: {},
    exists: () => false,
    resolveTestcontainers: () => '/node_modules/testcontainers/build/index.js',
    askTestcontainers: () => {
      state.asked += 1;
      return 'unix:///var/run/docker.sock (27.0.1)';
    },
    ...overrides,
  };
  return state;
}

describe('Docker engine detection for the emulators', () => {
  it('uses a socket that testcontainers confirms', () => {
    const p = probe({ exists: (path) => path === '/var/run/docker.sock' });
    expect(detectDocker(p)).toEqual({ available: true, runtime: 'unix:///var/run/docker.sock (27.0.1)' });
    expect(p.asked).toBe(1);
  });

  it('asks testcontainers when DOCKER_HOST is set, even without a local socket', () => {
    const p = probe({ env: { DOCKER_HOST: 'tcp://10.0.0.5:2375' } });
    expect(detectDocker(p).available).toBe(true);
    expect(p.asked).toBe(1);
  });

  it('says there is no engine without starting anything when there is no socket and no DOCKER_HOST', () => {
    const p = probe({ env: { XDG_RUNTIME_DIR: '/run/user/1000' } });
    const support = detectDocker(p);
    expect(support.available).toBe(false);
    expect(support.available === false && support.reason).toMatch(
      /DOCKER_HOST is not set.*\/run\/user\/1000\/docker\.sock/,
    );
    expect(p.asked).toBe(0);
  });

  it('gives testcontainers’ reason when a socket exists but no engine answers', () => {
    const p = probe({
      exists: () => true,
      askTestcontainers: () => {
        throw new Error('Could not find a working container runtime strategy');
      },
    });
    expect(detectDocker(p)).toEqual({
      available: false,
      reason: 'no Docker engine answers testcontainers: Could not find a working container runtime strategy',
    });
  });

  it('does not look for an engine without the testcontainers package, or when told not to', () => {
    const missing = probe({ exists: () => true, resolveTestcontainers: () => null });
    expect(detectDocker(missing)).toMatchObject({ available: false, reason: expect.stringMatching(/not installed/) });
    const off = probe({ exists: () => true, env: { MLOPS_EMULATORS_DOCKER: 'false' } });
    expect(detectDocker(off)).toEqual({ available: false, reason: 'MLOPS_EMULATORS_DOCKER=false' });
    expect(missing.asked + off.asked).toBe(0);
  });

  it('lists the sockets of Docker, Docker Desktop, Colima and rootless Docker', () => {
    expect(dockerSockets({ XDG_RUNTIME_DIR: '/run/user/7' }, '/home/u')).toEqual([
      '/var/run/docker.sock',
      '/home/u/.docker/run/docker.sock',
      '/home/u/.docker/desktop/docker.sock',
      '/home/u/.colima/default/docker.sock',
      '/run/user/7/docker.sock',
    ]);
  });

  it('decides quickly on this machine, and falls back to the Cloud SDK where no engine answers', () => {
    const began = performance.now();
    const docker = detectDocker();
    const dockerMs = performance.now() - began;
    const support = emulatorSupport('pubsub');
    console.log(
      `[emulator] pubsub here: ${support.available ? support.via : `skip (${support.reason})`}; Docker: ${docker.available ? docker.runtime : docker.reason} (decided in ${dockerMs.toFixed(0)} ms)`,
    );
    if (process.env.PUBSUB_EMULATOR_HOST) return;
    if (docker.available) expect(support).toMatchObject({ available: true, via: 'docker' });
    else {
      expect(support.available ? support.via : 'skip').not.toBe('docker');
      if (cloudSdkRoot()) expect(support.available ? support.via : support.reason).toMatch(/^sdk$|Cloud SDK|Java/);
    }
    const noEngine = !process.env.DOCKER_HOST && !dockerSockets(process.env).some((socket) => existsSync(socket));
    if (noEngine) expect(dockerMs).toBeLessThan(1_000);
  });
});
