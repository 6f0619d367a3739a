import { type WasmMemory, wasmApi } from './wasm.module.js';

const PAGE = 65536;
/** The most a 32-bit memory can address. */
const MAX_PAGES = 65536;
const ALIGN = 64;

/**
 * A bump allocator of typed arrays on one shared WebAssembly memory, which grows as needed (views
 * handed out stay valid). Nothing is freed, except scratch: what was taken after a `mark` is given
 * back by `release` (binning's buffers, whose pages the histograms then reuse); an arena lives as
 * long as one fit.
 */
export class WasmArena {
  readonly memory: WasmMemory;
  private top = 0;

  constructor(initialBytes: number) {
    this.memory = new wasmApi.Memory({
      initial: Math.max(1, Math.ceil(initialBytes / PAGE)),
      maximum: MAX_PAGES,
      shared: true,
    });
  }

  float64(length: number): Float64Array {
    const at = this.take(length * 8);
    // After take, which may grow the memory and so replace its buffer.
    return new Float64Array(this.memory.buffer, at, length);
  }

  uint32(length: number): Uint32Array {
    const at = this.take(length * 4);
    return new Uint32Array(this.memory.buffer, at, length);
  }

  uint16(length: number): Uint16Array {
    const at = this.take(length * 2);
    return new Uint16Array(this.memory.buffer, at, length);
  }

  uint8(length: number): Uint8Array {
    const at = this.take(length);
    return new Uint8Array(this.memory.buffer, at, length);
  }

  /** The allocation point, for `release`. */
  mark(): number {
    return this.top;
  }

  /** Give back everything taken since `mark` returned `at`: views of it must no longer be used. */
  release(at: number): void {
    if (at > this.top) throw new Error(`internal: arena released to ${at}, above its top ${this.top}`);
    this.top = at;
  }

  /** Bytes needed for arrays of these byte lengths, with the arena's alignment. */
  static bytesFor(...byteLengths: number[]): number {
    return byteLengths.reduce((sum, bytes) => sum + Math.ceil(bytes / ALIGN) * ALIGN, 0);
  }

  private take(bytes: number): number {
    const at = this.top;
    const end = at + Math.ceil(bytes / ALIGN) * ALIGN;
    if (end > MAX_PAGES * PAGE) throw new Error(`internal: the histogram arena would exceed 4 GiB (${end} bytes)`);
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    return at;
  }
}
