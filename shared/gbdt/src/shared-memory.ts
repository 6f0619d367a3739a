/**
 * Typed arrays that worker threads can share. When a fit runs on one thread they are ordinary
 * ArrayBuffers, so nothing pays for shared memory it does not use.
 */
export function allocateFloat64(length: number, shared: boolean): Float64Array {
  return new Float64Array(shared ? new SharedArrayBuffer(length * 8) : new ArrayBuffer(length * 8));
}

export function allocateUint32(length: number, shared: boolean): Uint32Array {
  return new Uint32Array(shared ? new SharedArrayBuffer(length * 4) : new ArrayBuffer(length * 4));
}

export function allocateInt32(length: number, shared: boolean): Int32Array {
  return new Int32Array(shared ? new SharedArrayBuffer(length * 4) : new ArrayBuffer(length * 4));
}

export function allocateUint16(length: number, shared: boolean): Uint16Array {
  return new Uint16Array(shared ? new SharedArrayBuffer(length * 2) : new ArrayBuffer(length * 2));
}

export function allocateUint8(length: number, shared: boolean): Uint8Array {
  return new Uint8Array(shared ? new SharedArrayBuffer(length) : new ArrayBuffer(length));
}

/** A copy of `source` on shared memory when `shared`, else `source` itself. */
export function shareFloat64(source: Float64Array, shared: boolean): Float64Array {
  if (!shared || source.buffer instanceof SharedArrayBuffer) return source;
  const out = allocateFloat64(source.length, true);
  out.set(source);
  return out;
}

export function shareUint8(source: Uint8Array, shared: boolean): Uint8Array {
  if (!shared || source.buffer instanceof SharedArrayBuffer) return source;
  const out = allocateUint8(source.length, true);
  out.set(source);
  return out;
}
