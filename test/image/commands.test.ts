/**
 * What the image is asked to run, wherever that is written: the Dockerfile, docker-compose.yml and
 * the Terraform of Cloud Run. Every command is plain node on compiled JavaScript (never tsx), and
 * docker-compose runs every service of the repository and no GCS emulator (the emulator mode's lake
 * is a folder). That each command's file exists in the image is checked on the rebuilt runtime stage.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { composeServices, platformServices, terraformCommands } from './compose.js';
import { readDockerfile } from './dockerfile.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

const TSX = /(^|[\s"'/])tsx(\b|$)|\.ts(\s|"|$)/;

describe('the commands the image runs', () => {
  it('never use tsx or a TypeScript file: Dockerfile, docker-compose.yml, Terraform', () => {
    const stages = readDockerfile(join(repo, 'Dockerfile'));
    const dockerfile = stages.flatMap((stage) =>
      stage.instructions.filter((i) => ['RUN', 'CMD', 'ENTRYPOINT'].includes(i.keyword)).map((i) => i.raw),
    );
    expect(dockerfile.filter((line) => TSX.test(line))).toEqual([]);
    const compose = platformServices().map(([name, service]) => `${name}: ${service.argv.join(' ')}`);
    expect(compose.filter((line) => TSX.test(line))).toEqual([]);
    const terraform = terraformCommands().map((command) => command.join(' '));
    expect(terraform.length).toBeGreaterThanOrEqual(2);
    expect(terraform.filter((line) => TSX.test(line))).toEqual([]);
    for (const line of [...terraform, ...platformServices().map(([, service]) => service.argv.join(' '))])
      expect(line).toMatch(/^node (services\/([a-z-]+|\$\{[a-z_.]+\})|cli)\/dist\/\S+\.js( |$)/);
  });

  it('flags tsx however it is written (the check itself)', () => {
    for (const line of ['node --import tsx cli/src/main.ts', 'npx tsx x', '["tsx","a"]', 'node services/x/src/main.ts'])
      expect(TSX.test(line), line).toBe(true);
    for (const line of ['node services/lander/dist/main.js', 'node cli/dist/main.js schedule --once'])
      expect(TSX.test(line), line).toBe(false);
  });

  it('runs every service of the repository in docker-compose, and no GCS emulator', () => {
    const services = readdirSync(join(repo, 'services')).filter((name) =>
      existsSync(join(repo, 'services', name, 'src', 'main.ts')),
    );
    const scripts = platformServices().map(([, service]) => service.argv[1]);
    for (const name of services) expect(scripts).toContain(`services/${name}/dist/main.js`);
    const all = composeServices();
    for (const [name, service] of Object.entries(all)) {
      expect(`${name} ${service.image ?? ''}`).not.toMatch(/gcs|storage/i);
      expect(Object.keys(service.environment ?? {})).not.toContain('STORAGE_EMULATOR_HOST');
      const needs = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const other of needs) expect(Object.keys(all), `${name} depends on ${other}`).toContain(other);
    }
  });

  it('points the services at the emulators docker-compose starts', () => {
    const all = composeServices();
    for (const [name, service] of platformServices()) {
      const env = service.environment ?? {};
      expect(env.MLOPS_MODE, name).toBe('emulator');
      for (const variable of ['PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST']) {
        const [host, port] = String(env[variable]).split(':');
        expect(Object.keys(all), `${name} ${variable}`).toContain(host);
        expect(String(all[host!]!.command), `${host} listens on ${port}`).toContain(`:${port}`);
      }
    }
  });
});
