import type { CliIo } from './io.js';

/** A progress bar on a terminal; occasional plain lines otherwise (logs, CI). */
export function createProgress(
  io: CliIo,
  label: string,
): { update(done: number, total: number, note?: string): void; stop(): void } {
  let lastLine = '';
  let lastPlain = 0;
  let lastCount = '';
  const started = Date.now();
  return {
    update(done, total, note = '') {
      const ratio = total > 0 ? Math.min(1, done / total) : 0;
      const elapsed = ((Date.now() - started) / 1000).toFixed(0);
      if (io.tty) {
        const width = 30;
        const filled = Math.round(ratio * width);
        const line =
          `${label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total} stages closed ${elapsed}s ${note}`.slice(
            0,
            120,
          );
        if (line !== lastLine) process.stdout.write(`\r${line.padEnd(lastLine.length)}`);
        lastLine = line;
      } else if (Date.now() - lastPlain > 5000 || (done === total && lastCount !== `${done}/${total}`)) {
        lastPlain = Date.now();
        lastCount = `${done}/${total}`;
        io.out(`${label}: ${done}/${total} stages closed after ${elapsed}s${note ? ` (${note})` : ''}`);
      }
    },
    stop() {
      if (io.tty && lastLine) process.stdout.write('\n');
    },
  };
}
