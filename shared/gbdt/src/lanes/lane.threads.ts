/**
 * Starting worker lanes and driving them from the calling thread. From compiled JavaScript a worker
 * runs lane.worker.js next to this file. From TypeScript sources (tsx, vitest) it runs the same
 * entry bundled with its imports into one script (lane.worker.generated.ts, `npm run wasm:gen`), so
 * its thread needs no loader: tsx's hooks, which on Node 20 a worker has to register itself, made a
 * lane take a second or more to come up.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { Command, type LaneContext, SPIN_LIMIT, Slot, laneSlots } from './lane.protocol.js';
import { LANE_WORKER_SCRIPT } from './lane.worker.generated.js';
import type { LaneWorkerData } from './lane.worker.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL('./lane.worker.js', import.meta.url);

/** The calling thread's handle on a worker lane. */
export interface LaneWorker {
  /** Where new histogram buffers are announced (HistogramMessage). */
  readonly port: MessagePort;
  /** Whether the worker has started and can take commands (never blocks). */
  ready(): boolean;
  /** Wait until the worker is ready, at most `timeoutMs`; whether it is. */
  awaitReady(timeoutMs: number): boolean;
  /** Post the current command (only to a ready worker). */
  start(): void;
  /** Wait until the lane has finished the command it was posted. */
  wait(): void;
  /** Tell the worker to exit (a worker still starting exits as soon as it is up). */
  stop(): void;
}

/**
 * The node options a worker gets: the process's, without tsx's loader flags (they do nothing in a
 * Node 20 worker but load tsx; from sources the worker runs a bundled script instead).
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
 * The options left when Node refused some for a worker (ERR_WORKER_INVALID_EXEC_ARGV names them:
 * "... invalid execArgv flags: --a=1, --b"); none when the message names none it was given.
 */
export function withoutRefused(execArgv: readonly string[], message: string): string[] {
  const listed = message.slice(message.lastIndexOf(': ') + 2).split(', ');
  const refused = new Set(listed.filter((flag) => execArgv.includes(flag)));
  return refused.size === 0 ? [] : execArgv.filter((flag) => !refused.has(flag));
}

/**
 * Start the worker of lane `lane` on `context`. Returns at once: the worker becomes `ready()` when
 * it has loaded and instantiated the kernels, and only then takes commands. Null when it cannot be
 * started at all.
 */
export function startLaneWorker(context: LaneContext, lane: number): LaneWorker | null {
  const { control } = context;
  const slots = laneSlots(lane);
  const channel = new MessageChannel();
  const { hists: _hists, ...shared } = context;
  const data: LaneWorkerData = { lane, port: channel.port2, context: shared };
  const create = (execArgv: string[]): Worker => {
    const options = { transferList: [channel.port2], execArgv };
    return FROM_SOURCE
      ? new Worker(LANE_WORKER_SCRIPT, { ...options, eval: true, workerData: data })
      : new Worker(ENTRY, { ...options, workerData: data });
  };
  let worker: Worker;
  try {
    const execArgv = workerExecArgv(process.execArgv);
    try {
      worker = create(execArgv);
    } catch (error) {
      // V8 and process-wide flags (`--max-old-space-size`, `--expose-gc`, ...) apply to the whole
      // process already, but a worker given them refuses to start: start it without them.
      if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
      worker = create(withoutRefused(execArgv, (error as Error).message));
    }
  } catch {
    return null;
  }
  worker.unref();
  channel.port1.unref();
  let seq = 0;
  const ready = (): boolean => Atomics.load(control, slots.ready) === 1;
  return {
    port: channel.port1,
    ready,
    awaitReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!ready() && Date.now() < deadline) Atomics.wait(control, slots.ready, 0, 50);
      return ready();
    },
    start() {
      seq++;
      Atomics.store(control, slots.sequence, seq);
      Atomics.notify(control, slots.sequence);
    },
    wait() {
      // Spin a little before sleeping: a lane usually finishes within microseconds of the calling
      // thread, and a sleeping thread may wait a whole scheduler slice to run again on a busy machine.
      for (let spin = 0; spin < SPIN_LIMIT && Atomics.load(control, slots.done) !== seq; spin++);
      for (;;) {
        const done = Atomics.load(control, slots.done);
        if (done === seq) break;
        Atomics.wait(control, slots.done, done);
      }
    },
    stop() {
      control[Slot.COMMAND] = Command.EXIT;
      seq++;
      Atomics.store(control, slots.sequence, seq);
      Atomics.notify(control, slots.sequence);
      channel.port1.close();
      // A worker that is still loading would otherwise finish loading only to exit.
      if (!ready()) void worker.terminate();
    },
  };
}
