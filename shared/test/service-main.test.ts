import { describe, expect, it } from 'vitest';
import { runServiceMain, type Service } from '@mlops/shared';
import { startEvent, tempDir, waitFor } from './helpers.js';

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
});
