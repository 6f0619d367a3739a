import { describe, expect, it } from 'vitest';
import { createAnswerCache, timeSlot } from '../src/cache.js';

describe('answer cache', () => {
  it('computes once per key and version, and again when the version changes', async () => {
    const cache = createAnswerCache();
    let calls = 0;
    const compute = async () => ++calls;
    expect(await cache.remember('k', 'v1', compute)).toBe(1);
    expect(await cache.remember('k', 'v1', compute)).toBe(1);
    expect(await cache.remember('k', 'v2', compute)).toBe(2);
    expect(await cache.remember('other', 'v2', compute)).toBe(3);
  });

  it('shares one computation between concurrent askers', async () => {
    const cache = createAnswerCache();
    let calls = 0;
    const slow = () => new Promise<number>((resolve) => setTimeout(() => resolve(++calls), 20));
    const answers = await Promise.all(Array.from({ length: 10 }, () => cache.remember('k', 'v', slow)));
    expect(answers).toEqual(Array(10).fill(1));
    expect(calls).toBe(1);
  });

  it('does not keep failures', async () => {
    const cache = createAnswerCache();
    await expect(cache.remember('k', 'v', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.remember('k', 'v', async () => 'ok')).toBe('ok');
  });

  it('bypasses the cache without a version, and drops the least recently used entry', async () => {
    const cache = createAnswerCache({ maxEntries: 2 });
    let calls = 0;
    await cache.remember('a', undefined, async () => ++calls);
    await cache.remember('a', undefined, async () => ++calls);
    expect(calls).toBe(2);
    await cache.remember('a', 'v', async () => 'a');
    await cache.remember('b', 'v', async () => 'b');
    await cache.remember('a', 'v', async () => 'a again');
    await cache.remember('c', 'v', async () => 'c');
    expect(cache.size).toBe(2);
    expect(await cache.remember('a', 'v', async () => 'recomputed')).toBe('a');
    expect(await cache.remember('b', 'v', async () => 'recomputed')).toBe('recomputed');
  });

  it('turns time into slots', () => {
    let now = 10_500;
    const slot = timeSlot(1000, () => now);
    const first = slot();
    now = 10_900;
    expect(slot()).toBe(first);
    now = 11_000;
    expect(slot()).not.toBe(first);
  });
});
