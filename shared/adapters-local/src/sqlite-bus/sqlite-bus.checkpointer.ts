import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Copies the bus file's write-ahead log back into the database from a worker thread. SQLite's
 * automatic checkpoint runs inside the commit that crosses its threshold, on the thread that
 * publishes or leases, and with `synchronous = NORMAL` it syncs the files: a stall of milliseconds
 * on one commit in a few hundred. A passive checkpoint on a connection of its own never blocks the
 * bus's readers or writers; the bus connection keeps a far higher automatic threshold only as a
 * backstop for when this worker falls behind or cannot start.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private stopped: Promise<void> | undefined;
  private exited = false;

  constructor(path: string, intervalMs: number) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver, intervalMs } });
    // A worker that cannot open the file leaves the backstop to the bus connection.
    this.worker.on('error', () => undefined);
    this.worker.on('exit', () => (this.exited = true));
    this.worker.unref();
  }

  /** Stop checkpointing and close the worker's connection. */
  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      this.worker.once('exit', () => resolve());
      // Held open until it has closed its connection.
      this.worker.ref();
      this.worker.postMessage('stop');
    });
    return this.stopped;
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Another connection is checkpointing, or the file is busy: the next tick tries again.
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;
