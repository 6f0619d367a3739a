import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '@mlops/testing/suites';
import { NdjsonStaging } from '../src/ndjson-staging.js';

describe('NDJSON staging', () => {
  const dir = tempDir('mlops-ndjson-staging-');
  afterAll(() => dir.remove());

  const body = '{"a":"x","b":1}';
  const ids = [
    'ord_0001',
    'say "hi"',
    'back\\slash',
    'tab\there',
    'nul\u0000',
    'del\u007f',
    'Zoë',
    '🚀',
    'lone\ud800',
    '',
    '~',
  ];

  it('stages a line from an id prefix, an id and a body as the same bytes as the head built as text', async () => {
    const byHead = await NdjsonStaging.open(join(dir.path, 'head.ndjson'));
    const byId = await NdjsonStaging.open(join(dir.path, 'id.ndjson'));
    const prefix = Buffer.from('{"i":', 'utf8');
    for (const id of ids) {
      expect(byHead.line(`{"i":${JSON.stringify(id)}`, body, true)).toBe(true);
      expect(byId.idLine(prefix, id, body)).toBe(true);
    }
    await byHead.close();
    await byId.close();
    const staged = readFileSync(byId.path);
    expect(staged.equals(readFileSync(byHead.path))).toBe(true);
    expect(byId.rows).toBe(ids.length);
    const lines = staged.toString('utf8').trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { i: string }).i)).toEqual(ids);
  });

  it('appends nothing when the line may not fit the buffer, and the long-line path stages it', async () => {
    const staging = await NdjsonStaging.open(join(dir.path, 'long.ndjson'));
    const long = `{"a":"${'y'.repeat(3 * 1024 * 1024)}"}`;
    const prefix = Buffer.from('{"i":', 'utf8');
    expect(staging.idLine(prefix, 'first', body)).toBe(true);
    expect(staging.idLine(prefix, 'long', long)).toBe(false);
    await staging.lineLong('{"i":"long"', long, true);
    await staging.close();
    expect(readFileSync(staging.path, 'utf8')).toBe(`{"i":"first","a":"x","b":1}\n{"i":"long",${long.slice(1)}\n`);
    expect(staging.rows).toBe(2);
  });
});
