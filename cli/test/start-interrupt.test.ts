/**
 * `npm start` interrupted (Ctrl-C, or a benchmark's time limit): the command stops waiting, prints
 * the time per phase so far, keeps the state and exits 130. The real entry point runs as a child
 * process and gets SIGINT once the first stages have closed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'mlops-start-interrupt-'));

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('mlops start, interrupted', () => {
  it('prints the phases so far, keeps the state and exits 130', async () => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=@mlops/source',
        '--import',
        'tsx',
        join(root, 'cli/src/main.ts'),
        'start',
        '--no-serve',
        '--days',
        '30',
        '--until',
        '2026-06-30',
      ],
      { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: home, MLOPS_HOME: join(home, 'state') } },
    );
    let output = '';
    let signalled = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // Interrupt once some stage has closed, well before 30 days have gone through every stage.
      if (!signalled && /pipeline: [1-9]\d*\/\d+ stages closed/.test(output)) {
        signalled = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

    expect(signalled).toBe(true);
    expect(code).toBe(130);
    expect(output).toContain('Time per phase until interrupted');
    expect(output).toMatch(/^start-up\s+[\d.]+ s/m);
    expect(output).toMatch(/^generate\s+[\d.]+ s\s+[\d.]+ s\s+[\d.]+ s\s+\d+/m);
    expect(output).toMatch(/pipeline interrupted after [\d.]+ s; the state is kept/);
    // Interrupted before the chain finished: no report, no "finished" line.
    expect(output).not.toContain('pipeline finished');
    expect(existsSync(join(home, 'state', 'bus.sqlite'))).toBe(true);
  }, 180_000);
});
