/**
 * Starting worker lanes and driving them from the calling thread. A worker runs lane.worker.ts, or
 * the compiled lane.worker.js next to this file. From TypeScript sources (tsx, vitest) a worker
 * needs a loader of its own: on Node 20 tsx registers its hooks on the main thread only, so the
 * worker is started through a small bootstrap that registers tsx, then imports the entry.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { Command, type LaneContext, SPIN_LIMIT, Slot, sequenceSlot } from './lane.protocol.js';
import type { LaneWorkerData } from './lane.worker.js';

/** A worker that has not signalled ready within this time is given up on (the fit runs with fewer lanes). */
const READY_TIMEOUT_MS = 10_000;
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL(FROM_SOURCE ? './lane.worker.ts' : './lane.worker.js', import.meta.url);
/** Registers tsx in the worker, then imports the entry (CommonJS, as an eval'd worker script is). */
const BOOTSTRAP =
  "const { workerData } = require('node:worker_threads');" +
  'import(workerData.loader)' +
  '.then((tsx) => { tsx.register(); return import(workerData.entry); })' +
  '.catch((error) => { console.error(error); process.exit(1); });';

/** The calling thread's handle on a worker lane. */
export interface LaneWorker {
  /** Where new histogram buffers are announced (HistogramMessage). */
  readonly port: MessagePort;
  /** Post the current command. */
  start(): void;
  /** Wait until the lane has finished the command it was posted. */
  wait(): void;
  stop(): void;
}

/**
 * The node options a worker gets: the process's, without tsx's loader flags (they do nothing in a
 * Node 20 worker but load tsx; from sources the bootstrap registers it instead).
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const isTsx = (specifier: string): boolean => /(^|[/\\])tsx([/\\]|$)/.test(specifier);
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const loads = arg === '--import' || arg === '--require' || arg === '-r' || arg === '--loader';
    if (loads && isTsx(execArgv[i + 1] ?? '')) {
      i++;
      continue;
    }
    const inline = /^--(import|require|loader)=(.*)$/.exec(arg);
    if (inline !== null && isTsx(inline[2]!)) continue;
    out.push(arg);
  }
  return out;
}

/**
 * Start the worker of lane `lane` on `context` and wait until `expectedReady` workers have
 * signalled ready (this one included). Returns null when the worker cannot start in time.
 */
export function startLaneWorker(context: LaneContext, lane: number, expectedReady: number): LaneWorker | null {
  const { control } = context;
  const seqSlot = sequenceSlot(lane);
  const doneSlot = seqSlot + 1;
  const channel = new MessageChannel();
  const { hists: _hists, ...shared } = context;
  const data: LaneWorkerData = { lane, port: channel.port2, context: shared };
  let worker: Worker;
  try {
    const options = { transferList: [channel.port2], execArgv: workerExecArgv(process.execArgv) };
    worker = FROM_SOURCE
      ? new Worker(BOOTSTRAP, {
          ...options,
          eval: true,
          workerData: { ...data, loader: import.meta.resolve('tsx/esm/api'), entry: ENTRY.href },
        })
      : new Worker(ENTRY, { ...options, workerData: data });
  } catch {
    return null;
  }
  worker.unref();
  channel.port1.unref();
  // READY counts started workers; give up on this one (and run with fewer lanes) after a timeout.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = Atomics.load(control, Slot.READY);
    if (ready >= expectedReady) break;
    if (Date.now() > deadline) {
      void worker.terminate();
      return null;
    }
    Atomics.wait(control, Slot.READY, ready, 50);
  }
  let seq = 0;
  return {
    port: channel.port1,
    start() {
      seq++;
      Atomics.store(control, seqSlot, seq);
      Atomics.notify(control, seqSlot);
    },
    wait() {
      // Spin a little before sleeping: a lane usually finishes within microseconds of the calling
      // thread, and a sleeping thread may wait a whole scheduler slice to run again on a busy machine.
      for (let spin = 0; spin < SPIN_LIMIT && Atomics.load(control, doneSlot) !== seq; spin++);
      for (;;) {
        const done = Atomics.load(control, doneSlot);
        if (done === seq) break;
        Atomics.wait(control, doneSlot, done);
      }
    },
    stop() {
      control[Slot.COMMAND] = Command.EXIT;
      seq++;
      Atomics.store(control, seqSlot, seq);
      Atomics.notify(control, seqSlot);
      channel.port1.close();
    },
  };
}
