import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPlatform, loadConfig, silentLogger, topicOf } from '@mlops/shared';
import { composeServices, TOPOLOGY } from '../src/stack/in-process.js';
import { repoRoot, SERVICE_PROCESSES, serviceArgs } from '../src/stack/processes.js';

describe('the topology', () => {
  it('lists exactly what every composed service consumes', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mlops-topology-'));
    const platform = await createPlatform(loadConfig({ MLOPS_HOME: home }), { log: silentLogger });
    try {
      const services = await composeServices(platform);
      const composed = Object.fromEntries(services.map((service) => [service.name, [...service.consumes].sort()]));
      expect(composed).toEqual(
        Object.fromEntries(Object.entries(TOPOLOGY).map(([name, types]) => [name, [...types].sort()])),
      );
    } finally {
      await platform.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('matches the Terraform triggers and the docker-compose services', () => {
    const terraform = readFileSync(join(repoRoot, 'infra/main.tf'), 'utf8');
    const block = /consumers = \{([\s\S]*?)\n {2}\}/.exec(terraform)![1]!;
    const fromTerraform = Object.fromEntries(
      [...block.matchAll(/"([\w-]+)"\s*=\s*\[([^\]]*)\]/g)].map((m) => [
        m[1]!,
        [...m[2]!.matchAll(/"([\w-]+)"/g)].map((t) => t[1]!).sort(),
      ]),
    );
    const expected = Object.fromEntries(
      Object.entries(TOPOLOGY).map(([name, types]) => [name, [...new Set(types.map((type) => topicOf(type)))].sort()]),
    );
    expect(fromTerraform).toEqual(expected);
    const compose = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
    for (const name of SERVICE_PROCESSES) expect(compose).toContain(`services/${name}/dist/main.js`);
    expect([...SERVICE_PROCESSES].sort()).toEqual(Object.keys(TOPOLOGY).sort());
  });

  it('starts each service the way the CLI runs: its sources through tsx, or its compiled JavaScript', () => {
    expect(serviceArgs('lander', false)).toEqual([
      '--conditions=@mlops/source',
      '--import',
      'tsx',
      join(repoRoot, 'services/lander/src/main.ts'),
    ]);
    expect(serviceArgs('lander', true)).toEqual([join(repoRoot, 'services/lander/dist/main.js')]);
    expect(serviceArgs('lander')).toEqual(serviceArgs('lander', false));
  });
});
