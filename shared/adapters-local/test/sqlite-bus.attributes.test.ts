import { describe, expect, it } from 'vitest';
import { jsonStrings } from '../src/sqlite-bus/sqlite-bus.attributes.js';

describe('sqlite bus attribute values', () => {
  it('writes the varying values as JSON.stringify does, character for character', () => {
    const cases: unknown[][] = [
      [],
      [''],
      ['x'],
      ['plain', 'then "quoted"'],
      ['evt_1', '2026-01-02T03:04:05.678Z', 'run_bench_1', '2026-01-02', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`],
      ['say "hi"', 'back\\slash', 'tab\there', 'line\nbreak', '\u0000\u001f\u007f'],
      ['café', '日本', '\ud83d\ude00', 'lone \ud800 surrogate', 'lone \udfff too'],
      ['/', '<script>', "it's", '\u2028\u2029'],
      ['a', 1, null, undefined, true, { x: 'y' }],
    ];
    for (const values of cases) expect(jsonStrings(values)).toBe(JSON.stringify(values));
  });
});
