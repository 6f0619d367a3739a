import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildCloudDataformLayout,
  installedCoreVersion,
  publishToBranch,
  publishedSettings,
} from '../scripts/dataform-layout.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const projectDir = join(repoRoot, 'dataform');
const require = createRequire(join(projectDir, 'package.json'));
const cliBundle = join(dirname(require.resolve('@dataform/cli/package.json')), 'bundle.js');
const coreDir = dirname(require.resolve('@dataform/core/package.json'));
const VARS = '--vars=run_dates=2026-01-05 2026-01-06,lake_uri=gs://acme-lake';

const scratch = mkdtempSync(join(tmpdir(), 'dataform-layout-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `dataform compile --json` of a folder with the official CLI, as a parsed compiled graph. */
function compile(dir: string): Record<string, unknown> {
  const run = spawnSync(process.execPath, [cliBundle, 'compile', dir, '--json', VARS], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 180_000,
    // The CLI installs the core named by dataformCoreVersion with npm, as Cloud Dataform does.
    env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' },
  });
  expect(run.status, `dataform compile ${dir} failed:\n${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

describe('the Cloud Dataform layout', () => {
  const layout = join(scratch, 'layout');
  const entries = buildCloudDataformLayout(projectDir, layout, { origin: 'test' });

  it('holds only what Cloud Dataform reads: workflow_settings.yaml with an exact core version, definitions/, includes/', () => {
    expect(entries).toEqual(['definitions', 'includes', 'workflow_settings.yaml']);
    const settings = readFileSync(join(layout, 'workflow_settings.yaml'), 'utf8');
    expect(settings).toMatch(new RegExp(`^dataformCoreVersion: ${installedCoreVersion(projectDir)}$`, 'm'));
    expect(existsSync(join(layout, 'package.json')), 'no package.json: Dataform would install its packages').toBe(
      false,
    );
    expect(readdirSync(join(layout, 'definitions')).sort()).toEqual(
      readdirSync(join(projectDir, 'definitions')).sort(),
    );
  });

  it('compiles in isolation with the official CLI to the same graph as dataform/ compiled locally', () => {
    // The folder Cloud Dataform would check out, alone: no package.json, no node_modules above it.
    expect(existsSync(join(tmpdir(), 'node_modules'))).toBe(false);
    const published = compile(layout);
    expect(published.graphErrors ?? {}).toEqual({});
    // dataform/ as the local runner compiles it: staged next to a copy of the installed core.
    const staged = join(scratch, 'staged');
    for (const entry of ['workflow_settings.yaml', 'package.json', 'includes', 'definitions'])
      cpSync(join(projectDir, entry), join(staged, entry), { recursive: true });
    mkdirSync(join(staged, 'node_modules', '@dataform'), { recursive: true });
    cpSync(coreDir, join(staged, 'node_modules', '@dataform', 'core'), { recursive: true, dereference: true });
    const local = compile(staged);
    const actions = (graph: Record<string, unknown>) =>
      ['tables', 'operations', 'assertions'].flatMap((kind) =>
        ((graph[kind] ?? []) as { target: { schema: string; name: string } }[]).map(
          (action) => `${kind}:${action.target.schema}.${action.target.name}`,
        ),
      );
    expect(actions(published).length).toBeGreaterThan(40);
    expect(actions(published).sort()).toEqual(actions(local).sort());
    expect(published.tables).toEqual(local.tables);
    expect(published.operations).toEqual(local.operations);
    expect(published.assertions).toEqual(local.assertions);
  }, 240_000);

  it.each([
    ['a range', '^3.0.62', 'exact version'],
    ['a tag', 'latest', 'exact version'],
  ])('refuses %s as the core version', (_what, version, message) => {
    expect(() => publishedSettings('defaultProject: p\n', { coreVersion: version })).toThrow(message);
  });

  it('refuses a settings file that already names a core version, or lacks a key it must override', () => {
    expect(() => publishedSettings('dataformCoreVersion: 3.0.0\n', { coreVersion: '3.0.62' })).toThrow(
      'already sets dataformCoreVersion',
    );
    expect(() => publishedSettings('defaultDataset: x\n', { coreVersion: '3.0.62', defaultProject: 'p' })).toThrow(
      'has no defaultProject',
    );
  });

  it('overrides the default project and location when asked', () => {
    const settings = publishedSettings('# local\ndefaultProject: mlops-local\ndefaultLocation: EU\n', {
      coreVersion: '3.0.62',
      defaultProject: 'acme-data',
      defaultLocation: 'US',
    });
    expect(settings).toContain('dataformCoreVersion: 3.0.62\ndefaultProject: acme-data\ndefaultLocation: US\n');
    expect(settings).not.toContain('# local');
  });
});

describe('publishing the layout to a branch', () => {
  const repo = join(scratch, 'repo');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
  mkdirSync(repo);
  git('init', '--quiet', '--initial-branch=main');
  git('config', 'user.email', 'test@example.com');
  git('config', 'user.name', 'test');
  writeFileSync(join(repo, 'README.md'), 'the monorepo\n');
  git('add', 'README.md');
  git('commit', '--quiet', '-m', 'start');
  const layout = join(scratch, 'branch-layout');
  buildCloudDataformLayout(projectDir, layout);

  it('commits the layout as the root of the branch, leaving HEAD, the index and the work tree alone', () => {
    const first = publishToBranch(repo, layout, 'dataform', 'publish 1');
    expect(first.changed).toBe(true);
    expect(git('ls-tree', '--name-only', 'dataform').split('\n').sort()).toEqual([
      'definitions',
      'includes',
      'workflow_settings.yaml',
    ]);
    expect(git('rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(git('status', '--porcelain')).toBe('');
    expect(git('show', 'dataform:workflow_settings.yaml')).toContain('dataformCoreVersion: ');
  });

  it('commits nothing when the layout is unchanged, and a child commit when it changed', () => {
    const before = git('rev-parse', 'dataform');
    expect(publishToBranch(repo, layout, 'dataform', 'again')).toEqual({
      branch: 'dataform',
      commit: before,
      changed: false,
    });
    writeFileSync(join(layout, 'definitions', 'extra.sqlx'), 'config { type: "view" }\nselect 1 as one\n');
    const next = publishToBranch(repo, layout, 'dataform', 'publish 2');
    expect(next.changed).toBe(true);
    expect(git('rev-parse', `${next.commit}^`)).toBe(before);
  });

  it('refuses a branch name git would misread', () => {
    expect(() => publishToBranch(repo, layout, '--force', 'x')).toThrow('bad branch name');
    expect(() => publishToBranch(repo, layout, 'a..b', 'x')).toThrow('bad branch name');
  });
});
