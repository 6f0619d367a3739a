import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@mlops/testing';
import { Supervisor } from '../src/stack/supervisor.js';

// Real processes: `node -e` scripts that live until killed, or exit at once.
const LIVES = 'setInterval(() => {}, 1000)';
const CRASHES = 'process.exit(3)';

const supervisors: Supervisor[] = [];
afterEach(async () => {
  for (const supervisor of supervisors.splice(0)) await supervisor.stop();
});

function supervise(scripts: Record<string, string>, options: { maxCrashes?: number; windowMs?: number } = {}) {
  const lines: string[] = [];
  const supervisor = new Supervisor({
    spawn: (name) => spawn(process.execPath, ['-e', scripts[name]!], { stdio: 'ignore' }),
    log: (line) => lines.push(line),
    minBackoffMs: 20,
    maxBackoffMs: 100,
    killAfterMs: 2_000,
    ...options,
  });
  supervisors.push(supervisor);
  supervisor.start(Object.keys(scripts));
  return { supervisor, lines };
}

const alive = (pid: number | undefined) => {
  try {
    process.kill(pid!, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the stack supervisor', () => {
  it('restarts a process that is killed, with a log line naming it and how', async () => {
    const { supervisor, lines } = supervise({ lander: LIVES, trainer: LIVES });
    const first = supervisor.child('lander')!;
    await waitFor(() => first.pid !== undefined, 'the lander to start');
    first.kill('SIGKILL');
    await waitFor(() => supervisor.restarts('lander') === 1, 'the lander to be restarted', 10_000);
    expect(supervisor.child('lander')!.pid).not.toBe(first.pid);
    expect(lines).toContainEqual(
      expect.stringMatching(/^stack: lander was killed by SIGKILL; restarting it in 0\.0 s/),
    );
    expect(supervisor.restarts('trainer')).toBe(0);
  });

  it('gives up on a process that keeps crashing, and says so once every process has been given up on', async () => {
    const { supervisor, lines } = supervise({ 'sales-gen': CRASHES, lander: CRASHES }, { maxCrashes: 3 });
    await supervisor.gaveUp;
    expect(lines.filter((line) => line.includes('giving up on it'))).toHaveLength(2);
    expect(lines).toContainEqual(
      expect.stringMatching(/^stack: lander exited with code 3, 3 exits within 60 s; giving up on it/),
    );
    expect(supervisor.restarts('lander')).toBe(2);
  });

  it('stops every process and starts none again', async () => {
    const { supervisor } = supervise({ lander: LIVES, transformer: LIVES });
    await waitFor(() => supervisor.child('transformer')?.pid !== undefined, 'the processes to start');
    const pids = ['lander', 'transformer'].map((name) => supervisor.child(name)!.pid);
    await supervisor.stop();
    expect(pids.map(alive)).toEqual([false, false]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(supervisor.restarts('lander')).toBe(0);
  });
});
