import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import type { CliIo } from '../src/io.js';

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, tty: false, out: (t) => void stdout.push(t), err: (t) => void stderr.push(t) };
}

describe('mlops main', () => {
  const homes: string[] = [];
  const home = () => {
    const path = mkdtempSync(join(tmpdir(), 'mlops-cli-'));
    homes.push(path);
    return path;
  };
  afterEach(() => {
    for (const path of homes.splice(0)) rmSync(path, { recursive: true, force: true });
  });

  it('exits 2 with the reason on a bad command line', async () => {
    const io = capture();
    expect(await main(['run', '--date', '2026-13-01'], { MLOPS_HOME: home() }, io)).toBe(2);
    expect(io.stderr.join('')).toContain('--date "2026-13-01" is not a date');
  });

  it('exits 2 with the reason on a run date after tomorrow, before anything is published', async () => {
    const io = capture();
    const env = { MLOPS_HOME: home() };
    expect(await main(['run', '--date', '9999-12-31'], env, io)).toBe(2);
    expect(io.stderr.join('')).toContain('--date: run date 9999-12-31 is after tomorrow');
    expect(await main(['backfill', '--from', '2019-12-30', '--to', '2020-01-02'], env, io)).toBe(2);
    expect(io.stderr.join('')).toContain('--from: run date 2019-12-30 is before the earliest run date 2020-01-01');
    expect(readdirSync(env.MLOPS_HOME)).toEqual([]);
  });

  it('exits 1 naming the setting on a bad configuration', async () => {
    const io = capture();
    expect(await main(['status'], { MLOPS_HOME: home(), MLOPS_SCALE: 'many' }, io)).toBe(1);
    expect(io.stderr.join('')).toContain('MLOPS_SCALE');
  });

  it('shows status of an empty platform, then lists, publishes and redrives nothing', async () => {
    const env = { MLOPS_HOME: home() };
    const io = capture();
    expect(await main(['status'], env, io)).toBe(0);
    expect(io.stdout.join('\n')).toContain('no runs yet');
    expect(await main(['dlq', 'list'], env, io)).toBe(0);
    expect(io.stdout.join('\n')).toContain('no dead letters');
    expect(await main(['dlq', 'redrive'], env, io)).toBe(0);
    expect(io.stdout.join('\n')).toContain('redrove 0 dead letters');
    expect(await main(['schedule', '--once', '--date', '2026-03-01'], env, io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/published pipeline.started for 2026-03-01 \(run run_20260301_/);
  });
});
