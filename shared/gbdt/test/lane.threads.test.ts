import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../src/lanes/lane.threads.js';

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
