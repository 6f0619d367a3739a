/**
 * gcp mode on a machine without Google credentials: the CLI and a service process each stop with
 * one clear message naming what is missing, exit code 1 and no stack trace. The real entry points
 * run as child processes, with a home folder that holds no gcloud credentials and the metadata
 * server probe turned off (so the test does not depend on the network it runs on).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startMainProcess } from '@mlops/testing';

const root = fileURLToPath(new URL('../../', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'mlops-no-adc-'));
const gcp = {
  HOME: home,
  MLOPS_HOME: join(home, 'state'),
  MLOPS_MODE: 'gcp',
  GOOGLE_CLOUD_PROJECT: 'demo-project',
  MLOPS_LAKE: 'gs://demo-lake',
  MLOPS_PII_HMAC_KEY: 'a-long-enough-secret-key',
  METADATA_SERVER_DETECTION: 'none',
};

afterAll(() => rmSync(home, { recursive: true, force: true }));

/** `mlops <args>` as a user runs it, with only PATH and the given environment. */
function mlops(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    join(root, 'node_modules/.bin/tsx'),
    ['--conditions=@mlops/source', join(root, 'cli/src/main.ts'), ...args],
    {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

function expectNoStack(output: string): void {
  expect(output).not.toMatch(/\n\s+at [\w.<]+ \(|node_modules\/|NO_ADC_FOUND|Unhandled/);
}

describe('gcp mode without Application Default Credentials', () => {
  it('`mlops status` exits 1 with an mlops: message naming what is missing', async () => {
    const { code, output } = await mlops(['status'], gcp);
    expect(code).toBe(1);
    expect(output).toMatch(/^mlops: .*Application Default Credentials/m);
    expect(output).toContain('GOOGLE_APPLICATION_CREDENTIALS');
    expect(output).toContain('gcloud auth application-default login');
    expectNoStack(output);
  }, 60_000);

  it('names the credentials file when GOOGLE_APPLICATION_CREDENTIALS points nowhere', async () => {
    const missing = join(home, 'no-such-key.json');
    const { code, output } = await mlops(['status'], { ...gcp, GOOGLE_APPLICATION_CREDENTIALS: missing });
    expect(code).toBe(1);
    expect(output).toMatch(new RegExp(`^mlops: .*GOOGLE_APPLICATION_CREDENTIALS.*${missing}`, 'm'));
    expectNoStack(output);
  }, 60_000);

  it('a service process logs one error line naming it and exits 1', async () => {
    const run = startMainProcess(join(root, 'services/sales-gen/src/main.ts'), { ...gcp });
    expect(await run.exited).toBe(1);
    const lines = run
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const errors = lines.filter((line) => line.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ service: 'sales-gen', setting: 'GOOGLE_APPLICATION_CREDENTIALS' });
    expect(String(errors[0]!.message)).toContain('Application Default Credentials');
    expectNoStack(run.output());
  }, 60_000);
});
