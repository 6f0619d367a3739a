import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dataProblems,
  eventCatalog,
  eventTypes,
  recordProblems,
  topics,
  type EventType,
  type RecordKind,
} from '@mlops/kernel';

const schemasDir = join(import.meta.dirname, '../../../schemas');
const examplesDir = join(schemasDir, 'examples');

interface Examples {
  schema: string;
  valid: unknown[];
  invalid: { why: string; value: unknown }[];
}

function problemsFor(schema: string, value: unknown): string | undefined {
  const [folder, file] = schema.split('/') as [string, string];
  const name = file.replace(/\.json$/, '');
  if (folder === 'events') return dataProblems(name as EventType, value);
  return recordProblems(name.replace(/\.v1$/, '') as RecordKind, value);
}

const exampleFiles = readdirSync(examplesDir).filter((file) => file.endsWith('.examples.json'));

describe('contracts', () => {
  it('has one event schema per catalogued type, and one topic per type', () => {
    const files = readdirSync(join(schemasDir, 'events')).map((file) => file.replace(/\.json$/, ''));
    expect(files.sort()).toEqual([...eventTypes].sort());
    for (const type of eventTypes) expect(eventCatalog[type].schemaId.endsWith(`/events/${type}.json`)).toBe(true);
    expect(new Set(eventTypes.map((type) => eventCatalog[type].topic)).size).toBe(eventTypes.length);
    expect(topics).toContain('dead-letter');
  });

  it('has examples for every event and record schema', () => {
    const schemas = ['events', 'records'].flatMap((folder) =>
      readdirSync(join(schemasDir, folder)).map((file) => `${folder}/${file}`),
    );
    const covered = exampleFiles.map(
      (file) => (JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as Examples).schema,
    );
    expect(covered.sort()).toEqual(schemas.sort());
  });

  describe.each(exampleFiles)('%s', (file) => {
    const examples = JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as Examples;
    it.each(examples.valid.map((value, index) => [index, value] as const))(
      'accepts valid example %i',
      (_index, value) => {
        expect(problemsFor(examples.schema, value)).toBeUndefined();
      },
    );
    it.each(examples.invalid.map((item) => [item.why, item.value] as const))('rejects %s', (_why, value) => {
      expect(problemsFor(examples.schema, value)).toEqual(expect.any(String));
    });
  });
});
