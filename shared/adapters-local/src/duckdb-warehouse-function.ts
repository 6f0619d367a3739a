/**
 * JavaScript number functions called from DuckDB SQL a data chunk at a time (the port's
 * `withNumberFunction`). DuckDB keeps scalar functions in its system catalog, shared by every
 * connection of an instance and never dropped, so each instance gets one dispatcher,
 * `mlops_number_function__(key, args...)`, and the key (a constant of the statement) picks the
 * function a caller lent for the time of its work.
 */
import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { DOUBLE, DuckDBScalarFunction, type DuckDBInstance } from '@duckdb/node-api';
import { PermanentError, type NumberFunction } from '@mlops/kernel';

const DISPATCHER = 'mlops_number_function__';

/** The functions lent out now, by key. */
const lent = new Map<number, NumberFunction>();
let nextKey = 1;
const registered = new WeakSet<DuckDBInstance>();

/** Handles of the native binding (chunks, vectors, function info): opaque here. */
type Handle = object;

/** The calls of node-api's native binding that the dispatcher makes (its C API, one call each). */
interface Binding {
  data_chunk_get_size(chunk: Handle): number;
  data_chunk_get_column_count(chunk: Handle): number;
  data_chunk_get_vector(chunk: Handle, column: number): Handle;
  /** A copy of the vector's first `bytes` bytes of data. */
  vector_get_data(vector: Handle, bytes: number): Uint8Array;
  /** A copy of the vector's validity mask, or null when every row is valid. */
  vector_get_validity(vector: Handle, bytes: number): Uint8Array | null;
  copy_data_to_vector(vector: Handle, at: number, source: ArrayBufferLike, from: number, bytes: number): void;
  scalar_function_set_function(fn: Handle, main: (info: Handle, input: Handle, output: Handle) => void): void;
  scalar_function_set_error(info: Handle, message: string): void;
}

let loaded: Binding | undefined;

/**
 * node-api's own native binding (resolved from node-api's folder, so the same module instance,
 * whichever way npm laid the packages out). The dispatcher calls it directly: node-api's function
 * wrapper builds a chunk object, a vector object and a validity object per argument per chunk and
 * copies the output vector in before the call, which cost the JavaScript thread (the statement's
 * critical path) about twice the time of the copies themselves (bench/model).
 */
function binding(): Binding {
  if (loaded) return loaded;
  const fromNodeApi = createRequire(createRequire(import.meta.url).resolve('@duckdb/node-api'));
  const candidate = fromNodeApi('@duckdb/node-bindings') as Record<string, unknown>;
  const names: (keyof Binding)[] = [
    'data_chunk_get_size',
    'data_chunk_get_column_count',
    'data_chunk_get_vector',
    'vector_get_data',
    'vector_get_validity',
    'copy_data_to_vector',
    'scalar_function_set_function',
    'scalar_function_set_error',
  ];
  if (names.some((name) => typeof candidate[name] !== 'function'))
    throw new PermanentError(
      'WAREHOUSE.DRIVER_CHANGED',
      'the DuckDB driver no longer exposes the scalar function calls the number functions use',
    );
  loaded = candidate as unknown as Binding;
  return loaded;
}

/** DuckDB's rows per data chunk (a larger chunk gets its own output buffer). */
const CHUNK_ROWS = 2048;
/** The output of a call, copied into DuckDB's vector after it (one call runs at a time). */
const result = new Float64Array(CHUNK_ROWS);

/**
 * The buffers of the binding's copies that the chunk being computed holds (released after it).
 * The binding copies every argument vector into a new ArrayBuffer (16 KB per argument per 2,048
 * rows: 49 arguments over 750,192 rows are ~295 MB a run). V8 counts them as external memory and
 * frees them only after a scavenge and its concurrent sweep; when the sweep lags, the count passes
 * V8's limit and starts mark-compacts (bench/model, h80). Transferring them to a closed port
 * detaches them: V8 frees each buffer and uncounts its bytes at once, no collection needed.
 */
const held: ArrayBuffer[] = [];
let sink: MessagePort | undefined;

/** Keep `data`'s buffer to release when it is the binding's own copy (whole, not a shared pool's slice). */
function hold(data: Uint8Array): void {
  const buffer = data.buffer;
  if (
    data.byteOffset === 0 &&
    buffer.byteLength === data.byteLength &&
    buffer.byteLength > 0 &&
    !(buffer instanceof SharedArrayBuffer)
  )
    held.push(buffer as ArrayBuffer);
}

/**
 * Free the held buffers now: posted to a closed port, a message is serialized (its transfer list
 * detached) and dropped. The chunk's views are unusable afterwards (the port's contract: the
 * columns are valid only during the call).
 */
function release(): void {
  if (held.length === 0) return;
  if (!sink) {
    const channel = new MessageChannel();
    channel.port2.close();
    channel.port1.close();
    sink = channel.port1;
  }
  try {
    sink.postMessage(null, held);
  } catch {
    // A buffer the runtime will not transfer: the collector frees them as before.
  }
  held.length = 0;
}

/** A DOUBLE vector's values (a view of the binding's copy), NaN where the row is NULL. */
function valuesOf(ddb: Binding, vector: Handle, rows: number): Float64Array {
  const data = ddb.vector_get_data(vector, rows * 8);
  hold(data);
  const values = new Float64Array(data.buffer, data.byteOffset, rows);
  const validity = ddb.vector_get_validity(vector, Math.ceil(rows / 64) * 8);
  if (!validity) return values;
  hold(validity);
  const mask = new Uint32Array(validity.buffer, validity.byteOffset, Math.ceil(rows / 64) * 2);
  const words = Math.ceil(rows / 32);
  for (let w = 0; w < words; w++) {
    const bits = mask[w]!;
    if (bits === 0xffffffff) continue;
    const end = Math.min(32, rows - w * 32);
    for (let b = 0; b < end; b++) if (((bits >>> b) & 1) === 0) values[w * 32 + b] = Number.NaN;
  }
  return values;
}

/** One data chunk: its key (argument 0, a constant) picks the function lent; the rest are its arguments. */
function dispatch(ddb: Binding, info: Handle, input: Handle, output: Handle): void {
  try {
    const rows = ddb.data_chunk_get_size(input);
    const count = ddb.data_chunk_get_column_count(input);
    const key = valuesOf(ddb, ddb.data_chunk_get_vector(input, 0), 1)[0]!;
    const fn = lent.get(key);
    if (!fn) throw new Error(`no number function is lent under key ${key}`);
    if (count - 1 !== fn.arity) throw new Error(`the number function takes ${fn.arity} arguments, not ${count - 1}`);
    const columns: Float64Array[] = [];
    for (let i = 1; i < count; i++) columns.push(valuesOf(ddb, ddb.data_chunk_get_vector(input, i), rows));
    const out = rows <= CHUNK_ROWS ? result : new Float64Array(rows);
    fn.compute(columns, rows, out);
    ddb.copy_data_to_vector(output, 0, out.buffer, out.byteOffset, rows * 8);
  } catch (error) {
    ddb.scalar_function_set_error(info, error instanceof Error ? error.message : String(error));
  } finally {
    release();
  }
}

function register(instance: DuckDBInstance, connection: { registerScalarFunction(f: DuckDBScalarFunction): void }) {
  if (registered.has(instance)) return;
  const ddb = binding();
  const fn = DuckDBScalarFunction.create({
    name: DISPATCHER,
    returnType: DOUBLE,
    varArgsType: DOUBLE,
    // NULL arguments reach the function (as NaN) instead of making the result NULL; volatile, so
    // the optimiser never evaluates one call twice.
    specialHandling: true,
    volatile: true,
    // Replaced below by the dispatcher on the binding's own chunk and vectors.
    mainFunction: () => undefined,
  });
  ddb.scalar_function_set_function(fn.scalar_function, (info, input, output) => dispatch(ddb, info, input, output));
  connection.registerScalarFunction(fn);
  registered.add(instance);
}

/**
 * Lend `fn` to SQL on `instance` while `use` runs: `call(args)` spells its call on SQL expressions.
 */
export async function withNumberFunctionOn<T>(
  instance: DuckDBInstance,
  connection: { registerScalarFunction(f: DuckDBScalarFunction): void },
  fn: NumberFunction,
  use: (call: (args: readonly string[]) => string) => Promise<T>,
): Promise<T> {
  if (!Number.isSafeInteger(fn.arity) || fn.arity < 1)
    throw new PermanentError(
      'WAREHOUSE.BAD_FUNCTION',
      `a number function takes at least one argument, not ${fn.arity}`,
    );
  register(instance, connection);
  const key = nextKey++;
  lent.set(key, fn);
  const call = (args: readonly string[]): string => {
    if (args.length !== fn.arity)
      throw new PermanentError(
        'WAREHOUSE.BAD_FUNCTION',
        `the number function takes ${fn.arity} arguments; the call gives ${args.length}`,
      );
    return `${DISPATCHER}(${key}::double${args.map((arg) => `, cast(${arg} as double)`).join('')})`;
  };
  try {
    return await use(call);
  } finally {
    lent.delete(key);
  }
}
