import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from '@cdktf/hcl2json';
import { createPlatform } from '@mlops/platform';
import { loadConfig, silentLogger, topicOf, topics } from '@mlops/kernel';
import { COMPLETION_TOPOLOGY, composeServices, TOPOLOGY } from '../src/stack/in-process.js';
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

  it('matches the Terraform triggers and the docker-compose services', async () => {
    const main = await parse('main.tf', readFileSync(join(repoRoot, 'infra/main.tf'), 'utf8'));
    const services = Object.assign({}, ...(main.locals as Record<string, unknown>[])).services as Record<
      string,
      { consumes: string[] | string }
    >;
    // The dashboard consumes every event topic (`local.event_topics`, read from the schemas); the
    // completion topics are Cloud Logging's, not event types, and the dead-letter relay is gcp-only.
    const eventTopics = topics.filter((topic) => topic !== 'dead-letter');
    const fromTerraform = Object.fromEntries(
      Object.entries(services)
        .filter(([name]) => name !== 'dead-letters')
        .map(([name, spec]) => [
          name,
          (spec.consumes === '${sort(tolist(local.event_topics))}' ? eventTopics : (spec.consumes as string[]))
            .filter((topic) => !topic.endsWith('-completions'))
            .sort(),
        ]),
    );
    const expected = Object.fromEntries(
      Object.entries(TOPOLOGY).map(([name, types]) => [name, [...new Set(types.map((type) => topicOf(type)))].sort()]),
    );
    expect(fromTerraform).toEqual(expected);
    const completions = Object.fromEntries(
      Object.entries(services)
        .map(([name, spec]) => [name, ([] as string[]).concat(spec.consumes).filter((t) => t.endsWith('-completions'))])
        .filter(([, topics]) => (topics?.length ?? 0) > 0),
    );
    expect(completions).toEqual(COMPLETION_TOPOLOGY);
    expect(services['dead-letters']?.consumes).toEqual(['dead-letter']);
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
