import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerfileError, dockerignore, parseDockerfile } from './dockerfile.js';
import { rebuildLastStage } from './rebuild.js';

describe('the Dockerfile reader of the image test', () => {
  it('reads stages, flags, JSON and shell forms, comments and continuations', () => {
    const stages = parseDockerfile(
      [
        '# comment',
        'FROM node:20 AS deps',
        'WORKDIR /app',
        'RUN apt-get update && \\',
        '    apt-get install -y python3',
        'FROM node:20',
        'COPY --from=deps /app ./',
        'ENV A=1 B=two=2',
        'CMD ["node", "cli/dist/main.js"]',
      ].join('\n'),
    );
    expect(stages.map((stage) => [stage.name, stage.base])).toEqual([
      ['deps', 'node:20'],
      ['1', 'node:20'],
    ]);
    expect(stages[0]!.instructions[1]).toMatchObject({
      keyword: 'RUN',
      raw: 'apt-get update && apt-get install -y python3',
    });
    expect(stages[1]!.instructions[0]).toMatchObject({
      keyword: 'COPY',
      flags: { from: 'deps' },
      args: ['/app', './'],
    });
    expect(stages[1]!.instructions[2]).toMatchObject({ keyword: 'CMD', args: ['node', 'cli/dist/main.js'] });
  });

  it.each([
    ['an unknown instruction', 'FROM node\nHEALTHCHECK CMD true', /HEALTHCHECK is not supported/],
    ['an instruction before FROM', 'WORKDIR /app', /before the first FROM/],
    ['a malformed FROM', 'FROM node AS', /expected FROM/],
    ['a JSON form that is not strings', 'FROM node\nCMD ["node", 1]', /array of strings/],
    ['no stage at all', '# nothing', /no FROM/],
  ])('refuses %s', (_, text, message) => {
    expect(() => parseDockerfile(text)).toThrow(DockerfileError);
    expect(() => parseDockerfile(text)).toThrow(message);
  });

  it('follows .dockerignore: anchored patterns, ** folders, exceptions, last rule wins', () => {
    const ignored = dockerignore('# c\nnode_modules\n**/dist\n*.log\n!keep.log\n/.git\nbench/out/\n');
    expect(ignored('node_modules/x/index.js')).toBe(true);
    expect(ignored('shared/node_modules/ajv')).toBe(false);
    expect(ignored('shared/dist/index.js')).toBe(true);
    expect(ignored('dist')).toBe(true);
    expect(ignored('a.log')).toBe(true);
    expect(ignored('keep.log')).toBe(false);
    expect(ignored('sub/a.log')).toBe(false);
    expect(ignored('.git/HEAD')).toBe(true);
    expect(ignored('bench/out/x.json')).toBe(true);
    expect(ignored('.npmrc')).toBe(false);
  });
});

describe('the runtime-stage rebuild', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function context(dockerfile: string): { stages: ReturnType<typeof parseDockerfile>; root: string } {
    dir = mkdtempSync(join(tmpdir(), 'mlops-dockerfile-'));
    const root = join(dir, 'context');
    mkdirSync(join(root, 'a/b'), { recursive: true });
    writeFileSync(join(root, 'a/b/c.txt'), 'c');
    writeFileSync(join(root, 'a/skip.log'), 'log');
    writeFileSync(join(root, 'top.json'), '{}');
    writeFileSync(join(root, '.dockerignore'), '*.log\n**/*.log\n');
    return { stages: parseDockerfile(dockerfile), root };
  }

  const npmNever = async () => {
    throw new Error('npm must not run');
  };

  it('copies files and folders as Docker does, without ignored files, and keeps ENV and CMD', async () => {
    const { stages, root } = context(
      'FROM node AS base\nWORKDIR /app\nCOPY top.json ./\nFROM node\nWORKDIR /app\nCOPY --from=base /app ./\nCOPY a a\nCOPY a/b/c.txt x/\nENV NODE_ENV=production\nCMD ["node", "x.js"]',
    );
    const out = join(dir!, 'out');
    const image = await rebuildLastStage({
      stages,
      context: root,
      outDir: out,
      cacheDir: join(dir!, 'cache'),
      npm: npmNever,
    });
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(out).sort()).toEqual(['a', 'top.json', 'x']);
    expect(readdirSync(join(out, 'a'))).toEqual(['b']);
    expect(readdirSync(join(out, 'x'))).toEqual(['c.txt']);
    expect(image).toMatchObject({ env: { NODE_ENV: 'production' }, cmd: ['node', 'x.js'] });
  });

  it.each([
    ['a RUN it cannot reproduce', 'FROM node\nWORKDIR /app\nRUN curl https://example.com | sh', /cannot be reproduced/],
    ['a wildcard source', 'FROM node\nWORKDIR /app\nCOPY a/* ./', /plain path/],
    ['a missing source', 'FROM node\nWORKDIR /app\nCOPY nothing ./', /missing from the context or ignored/],
    ['an ignored source', 'FROM node\nWORKDIR /app\nCOPY a/skip.log ./', /missing from the context or ignored/],
    ['another working directory', 'FROM node\nWORKDIR /srv', /WORKDIR must be \/app/],
    [
      'a copy out of the working directory',
      'FROM node\nWORKDIR /app\nCOPY top.json /etc/',
      /outside the working directory/,
    ],
    ['an unknown stage', 'FROM node\nWORKDIR /app\nCOPY --from=nope /app ./', /no stage named nope/],
    [
      'a build stage that does not copy the context',
      'FROM node AS build\nWORKDIR /app\nRUN npm run build\nFROM node\nWORKDIR /app\nCOPY --from=build /app/dist dist',
      /must be RUN npm ci, COPY \. \., RUN npm run build/,
    ],
  ])('refuses %s', async (_, dockerfile, message) => {
    const { stages, root } = context(dockerfile);
    await expect(
      rebuildLastStage({
        stages,
        context: root,
        outDir: join(dir!, 'out'),
        cacheDir: join(dir!, 'cache'),
        npm: npmNever,
      }),
    ).rejects.toThrow(message);
  });
});
