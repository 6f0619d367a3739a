/** What docker-compose.yml and the Terraform of Cloud Run ask the image to run, for the image tests. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { YAML11_SCHEMA, load } from 'js-yaml';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** The keys of a compose service these tests read. */
export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown> | string[];
}

/** docker-compose.yml, anchors and (YAML 1.1) merge keys resolved, as Compose reads it. */
export function composeServices(): Record<string, ComposeService> {
  const compose = load(readFileSync(join(repo, 'docker-compose.yml'), 'utf8'), { schema: YAML11_SCHEMA }) as {
    services?: Record<string, ComposeService>;
  };
  if (!compose?.services) throw new Error('docker-compose.yml has no services');
  return compose.services;
}

/** The services built from this repository's Dockerfile (not the emulators). */
export function platformServices(): [string, ComposeService & { argv: string[] }][] {
  return Object.entries(composeServices())
    .filter(([, service]) => service.build !== undefined)
    .map(([name, service]) => {
      const argv = [service.entrypoint ?? [], service.command ?? []].flatMap((part) =>
        typeof part === 'string' ? part.split(/\s+/) : part,
      );
      return [name, { ...service, argv }];
    });
}

/**
 * The commands of the Terraform files: every list that starts with "node" (Cloud Run services and
 * jobs), with Terraform's interpolations (`${service}`) left in place.
 */
export function terraformCommands(): string[][] {
  const commands: string[][] = [];
  for (const file of readdirSync(join(repo, 'infra')).filter((name) => name.endsWith('.tf')))
    for (const match of readFileSync(join(repo, 'infra', file), 'utf8').matchAll(/\[\s*"node"[^\]]*\]/g))
      commands.push(JSON.parse(match[0]) as string[]);
  return commands;
}
