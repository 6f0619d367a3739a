import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { runServiceMain } from '@mlops/platform';
import { type Service } from '@mlops/kernel';
import { startEvent, tempDir, waitFor, rawRequest } from '@mlops/testing/suites';

describe('runServiceMain', () => {
  it('exits 1 naming the setting when the configuration is bad, before building the service', async () => {
    const codes: number[] = [];
    let built = false;
    const running = await runServiceMain(
      'test-service',
      () => ((built = true), { name: 'lander', consumes: [], handle: async () => undefined }),
      { MLOPS_SCALE: 'lots' },
      (code) => void codes.push(code),
    );
    expect(running).toBeUndefined();
    expect(codes).toEqual([1]);
    expect(built).toBe(false);
  });

  it('refuses an unknown transport', async () => {
    const dir = tempDir();
    const codes: number[] = [];
    await runServiceMain(
      'test-service',
      () => ({ name: 'lander', consumes: [], handle: async () => undefined }),
      { MLOPS_HOME: dir.path, MLOPS_TRANSPORT: 'carrier-pigeon' },
      (code) => void codes.push(code),
    );
    expect(codes).toEqual([1]);
    dir.remove();
  });

  it('hosts the service as a pull consumer of the embedded bus until stopped', async () => {
    const dir = tempDir();
    const seen: string[] = [];
    const service: Service = {
      name: 'sales-gen',
      consumes: ['mlops.pipeline.started.v1'],
      handle: async (event) => void seen.push(event.id),
    };
    const running = await runServiceMain(
      'sales-gen',
      () => service,
      { MLOPS_HOME: dir.path },
      () => undefined,
    );
    const event = startEvent('2026-05-01');
    await running!.platform.bus.publish(event);
    await waitFor(() => seen.includes(event.id), 'the service to handle the event');
    await running!.stop();
    dir.remove();
  });

  it('serves CloudEvents over HTTP on loopback by default, with a health check and the Host allow-list', async () => {
    const dir = tempDir();
    const seen: string[] = [];
    const service: Service = {
      name: 'sales-gen',
      consumes: ['mlops.pipeline.started.v1'],
      handle: async (event) => void seen.push(event.id),
    };
    const running = await runServiceMain(
      'sales-gen',
      () => service,
      { MLOPS_HOME: dir.path, MLOPS_TRANSPORT: 'http', PORT: '0' },
      () => undefined,
    );
    try {
      expect(running!.http).toMatchObject({ host: '127.0.0.1' });
      const url = running!.http!.url;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const health = await rawRequest(url);
      expect([health.status, JSON.parse(health.body)]).toEqual([200, { status: 'ok', service: 'sales-gen' }]);
      const rebound = await rawRequest(url, { headers: { host: 'attacker.example:18901' } });
      expect(rebound.status).toBe(421);
      const event = startEvent('2026-05-02');
      const posted = await rawRequest(url, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify(event),
      });
      expect(posted.status).toBe(204);
      expect(seen).toEqual([event.id]);
    } finally {
      await running?.stop();
      dir.remove();
    }
  });

  it('logs one error line and exits 1 when the transport cannot start', async () => {
    const dir = tempDir();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const codes: number[] = [];
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      const running = await runServiceMain(
        'sales-gen',
        () => ({ name: 'sales-gen', consumes: [], handle: async () => undefined }),
        { MLOPS_HOME: dir.path, MLOPS_TRANSPORT: 'http', PORT: String(port) },
        (code) => void codes.push(code),
      );
      expect(running).toBeUndefined();
    } finally {
      process.stdout.write = write;
      await new Promise((resolve) => taken.close(resolve));
      dir.remove();
    }
    expect(codes).toEqual([1]);
    const errors = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/sales-gen failed to start: .*EADDRINUSE/);
  });
});
