/**
 * A worker lane's thread: instantiates the WebAssembly kernels on the shared arena, then runs its
 * share of each command the calling thread posts (lane.protocol.ts) until told to exit.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { instantiateWasmKernels } from '../wasm/wasm.module.js';
import { laneKernels } from './lane.kernels.js';
import { Command, type HistogramMessage, type LaneContext, SPIN_LIMIT, Slot, laneSlots } from './lane.protocol.js';
import { runLane } from './lane.run.js';

/** What a worker is started with: its lane, the port on which new histogram buffers arrive, and the shared state. */
export interface LaneWorkerData {
  lane: number;
  port: MessagePort;
  context: Omit<LaneContext, 'hists'>;
}

function laneWorkerMain({ lane, port, context: shared }: LaneWorkerData): void {
  const context: LaneContext = { ...shared, hists: [] };
  const kernels = laneKernels(instantiateWasmKernels(context.memory, context.wasmModule), context.scratch, lane);
  const { control } = context;
  const slots = laneSlots(lane);
  const seqSlot = slots.sequence;
  let seen = 0;
  Atomics.store(control, slots.ready, 1);
  Atomics.notify(control, slots.ready);
  for (;;) {
    // Spin before sleeping, as the calling thread does. Atomics.wait can return without the value
    // having changed (it did, about once in 10^5 commands, re-running a command), so loop until it has.
    let next = Atomics.load(control, seqSlot);
    for (let spin = 0; spin < SPIN_LIMIT && next === seen; spin++) next = Atomics.load(control, seqSlot);
    while (next === seen) {
      Atomics.wait(control, seqSlot, seen);
      next = Atomics.load(control, seqSlot);
    }
    seen = next;
    if (control[Slot.COMMAND] === Command.EXIT) break;
    try {
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
        const { id, buffer, offset, length } = m.message as HistogramMessage;
        context.hists[id] = new Float64Array(buffer, offset, length);
      }
      runLane(context, lane, kernels);
    } catch (error) {
      Atomics.store(control, Slot.FAILED, 1);
      console.error(error);
    }
    Atomics.store(control, slots.done, seen);
    Atomics.notify(control, slots.done);
  }
  port.close();
}

laneWorkerMain(workerData as LaneWorkerData);
