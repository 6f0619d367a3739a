import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '@mlops/adapters-local';
import { tempDir } from '@mlops/testing/suites';

const sha256 = (content: string) => createHash('sha256').update(content).digest('hex');

describe('FsObjectStore', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: FsObjectStore;
  beforeEach(() => {
    dir = tempDir();
    store = new FsObjectStore({ root: dir.path });
  });
  afterEach(() => dir.remove());

  it('putIfAbsent creates once: a second create, or a racing one, leaves the first object untouched', async () => {
    expect(await store.putIfAbsent('specs/a.json', '{"v":1}', { contentType: 'application/json' })).toMatchObject({
      key: 'specs/a.json',
      sha256: sha256('{"v":1}'),
      contentType: 'application/json',
    });
    expect(await store.putIfAbsent('specs/a.json', '{"v":2}')).toBeUndefined();
    expect((await store.get('specs/a.json')).toString()).toBe('{"v":1}');
    const racing = await Promise.all(['a', 'b', 'c', 'd'].map((text) => store.putIfAbsent('specs/race.json', text)));
    expect(racing.filter((meta) => meta !== undefined)).toHaveLength(1);
    expect(sha256((await store.get('specs/race.json')).toString())).toBe(racing.find(Boolean)!.sha256);
    // Nothing staged is left behind.
    expect((await store.list('specs/')).map((meta) => meta.key)).toEqual(['specs/a.json', 'specs/race.json']);
    await expect(store.putIfAbsent('../escape', 'x')).rejects.toMatchObject({ code: 'STORE.BAD_KEY' });
  });

  it('lists without reading content: a file written by something else has no hash until head() computes it', async () => {
    await store.put('lake/ours.txt', 'ours');
    mkdirSync(join(dir.path, 'lake'), { recursive: true });
    writeFileSync(join(dir.path, 'lake', 'theirs.txt'), 'theirs');
    const listed = await store.list('lake/');
    expect(listed.map((meta) => [meta.key, meta.bytes, meta.sha256])).toEqual([
      ['lake/ours.txt', 4, sha256('ours')],
      ['lake/theirs.txt', 6, undefined],
    ]);
    expect((await store.head('lake/theirs.txt'))?.sha256).toBe(sha256('theirs'));
    // Rewritten behind the store's back: the recorded hash no longer applies.
    writeFileSync(join(dir.path, 'lake', 'ours.txt'), 'changed!');
    expect((await store.list('lake/ours'))[0]?.sha256).toBeUndefined();
    expect((await store.head('lake/ours.txt'))?.sha256).toBe(sha256('changed!'));
  });
});
