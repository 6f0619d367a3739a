/**
 * JavaScript number functions called from DuckDB SQL a data chunk at a time (the port's
 * `withNumberFunction`). DuckDB keeps scalar functions in its system catalog, shared by every
 * connection of an instance and never dropped, so each instance gets one dispatcher,
 * `mlops_number_function__(key, args...)`, and the key (a constant of the statement) picks the
 * function a caller lent for the time of its work.
 */
import { DOUBLE, DuckDBScalarFunction, type DuckDBDoubleVector, type DuckDBInstance } from '@duckdb/node-api';
import { PermanentError, type NumberFunction } from '@mlops/kernel';
import { doubleVector } from './duckdb-warehouse-append.js';

const DISPATCHER = 'mlops_number_function__';

/** The functions lent out now, by key. */
const lent = new Map<number, NumberFunction>();
let nextKey = 1;
const registered = new WeakSet<DuckDBInstance>();

/** A DOUBLE vector's values (a view of node-api's copy), NaN where the row is NULL. */
function valuesOf(vector: DuckDBDoubleVector, rows: number): Float64Array {
  const { items, mask } = doubleVector(vector);
  const values = items.subarray(0, rows);
  if (mask === null) return values;
  const words = Math.ceil(rows / 32);
  for (let w = 0; w < words; w++) {
    const bits = mask[w]!;
    if (bits === 0xffffffff) continue;
    const end = Math.min(32, rows - w * 32);
    for (let b = 0; b < end; b++) if (((bits >>> b) & 1) === 0) values[w * 32 + b] = Number.NaN;
  }
  return values;
}

function register(instance: DuckDBInstance, connection: { registerScalarFunction(f: DuckDBScalarFunction): void }) {
  if (registered.has(instance)) return;
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name: DISPATCHER,
      returnType: DOUBLE,
      varArgsType: DOUBLE,
      // NULL arguments reach the function (as NaN) instead of making the result NULL; volatile, so
      // the optimiser never evaluates one call twice.
      specialHandling: true,
      volatile: true,
      mainFunction: (info, input, output) => {
        try {
          const rows = input.rowCount;
          const key = doubleVector(input.getColumnVector(0) as DuckDBDoubleVector).items[0]!;
          const fn = lent.get(key);
          if (!fn) throw new Error(`no number function is lent under key ${key}`);
          if (input.columnCount - 1 !== fn.arity)
            throw new Error(`the number function takes ${fn.arity} arguments, not ${input.columnCount - 1}`);
          const columns: Float64Array[] = [];
          for (let i = 1; i < input.columnCount; i++)
            columns.push(valuesOf(input.getColumnVector(i) as DuckDBDoubleVector, rows));
          const out = output as DuckDBDoubleVector;
          fn.compute(columns, rows, doubleVector(out).items);
          out.flush();
        } catch (error) {
          info.setError(error instanceof Error ? error.message : String(error));
        }
      },
    }),
  );
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
