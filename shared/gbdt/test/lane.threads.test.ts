import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withoutRefused, workerExecArgv } from '../src/lanes/lane.threads.js';

describe('worker lane options', () => {
  it.each([
    { name: 'tsx by package name', given: ['--import', 'tsx'], kept: [] },
    {
      name: "the tsx CLI's preflight and loader",
      given: [
        '--require',
        '/repo/node_modules/tsx/dist/preflight.cjs',
        '--import',
        'file:///repo/node_modules/tsx/dist/loader.mjs',
      ],
      kept: [],
    },
    { name: 'tsx in --import=', given: ['--import=tsx', '--cpu-prof'], kept: ['--cpu-prof'] },
    {
      name: 'other options and other loaders',
      given: ['--max-old-space-size=4096', '--import', './my-hooks.mjs', '--cpu-prof', '--require', 'tsx-like'],
      kept: ['--max-old-space-size=4096', '--import', './my-hooks.mjs', '--cpu-prof', '--require', 'tsx-like'],
    },
  ])("drops only tsx's loader flags ($name)", ({ given, kept }) => {
    expect(workerExecArgv(given)).toEqual(kept);
  });
});

describe('worker lanes under V8 flags', () => {
  it('drops only the flags Node names when it refuses them', () => {
    const given = ['--max-old-space-size=4096', '--cpu-prof', '--expose-gc'];
    const message = 'Initiated Worker with invalid execArgv flags: --max-old-space-size=4096, --expose-gc';
    expect(withoutRefused(given, message)).toEqual(['--cpu-prof']);
    // A message naming nothing it was given: no flags at all (a lane needs none).
    expect(withoutRefused(given, 'something else')).toEqual([]);
  });

  it('still starts its worker when the process runs with a flag a worker refuses (--max-old-space-size)', () => {
    // A process started as production containers often are; before, the worker failed to start
    // and the fit silently ran on one lane.
    const script = `
      import { bernoulli, fitGbdtProfiled, syntheticDataset } from ${JSON.stringify(fileURLToPath(new URL('../src/index.ts', import.meta.url)))};
      const data = syntheticDataset(2000, 6, (x, u) => bernoulli(3 * (x[0] - 0.5), u), 5);
      const { profile } = fitGbdtProfiled(data, { nTrees: 3, maxDepth: 3, threads: 2 }, { awaitLanes: true });
      console.log(JSON.stringify({ threads: profile.threads, lanesJoined: profile.lanesJoined, argv: process.execArgv.filter((a) => a.startsWith('--max')) }));
    `;
    const dir = mkdtempSync(join(tmpdir(), 'gbdt-lanes-'));
    const file = join(dir, 'fit.ts');
    writeFileSync(file, script);
    let out: string;
    try {
      out = execFileSync(
        process.execPath,
        ['--max-old-space-size=2048', '--import', 'tsx', '--conditions=@mlops/source', file],
        { cwd: fileURLToPath(new URL('../../..', import.meta.url)), encoding: 'utf8', timeout: 60_000 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as {
      threads: number;
      lanesJoined: number;
      argv: string[];
    };
    expect(result.argv).toEqual(['--max-old-space-size=2048']);
    expect(result.threads).toBe(2);
    expect(result.lanesJoined).toBeGreaterThan(0);
  }, 90_000);
});
