/**
 * The `instances` of a predict request, checked and turned into feature columns. An instance is an
 * object of feature values by name (extra keys such as the customer id are ignored: BigQuery batch
 * prediction sends whole rows) or an array of values in the model's feature order. A value is a
 * finite number, or `null` for a missing value (NaN, as batch prediction reads a NULL). Anything
 * else is refused naming the instance's index and the feature.
 */
import { ServingErrors, type ServingError } from './serving.errors.js';

/** The instances as columns, in the order of `features`. */
export interface InstanceColumns {
  columns: Float64Array[];
  rows: number;
}

function valueOf(value: unknown, index: number, feature: string): number | ServingError {
  if (value === null) return NaN;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return ServingErrors.badFeature(
    index,
    feature,
    value === undefined ? 'is missing' : `is not a number (${describe(value)})`,
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Read `body.instances` for a model trained on `featureNames`, giving the columns `features`
 * (a subset of `featureNames`, in the scorer's order). Throws a {@link ServingError} (400).
 */
export function instanceColumns(
  body: unknown,
  featureNames: readonly string[],
  features: readonly string[],
): InstanceColumns {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw ServingErrors.badRequest('the request body must be a JSON object with an "instances" array');
  const instances = (body as { instances?: unknown }).instances;
  if (!Array.isArray(instances)) throw ServingErrors.badRequest('"instances" must be an array of instances');
  if (instances.length === 0) throw ServingErrors.badRequest('"instances" is empty');
  const position = new Map(featureNames.map((name, i) => [name, i]));
  const wanted = new Map(features.map((name, i) => [name, i]));
  const columns = features.map(() => new Float64Array(instances.length));
  instances.forEach((instance, index) => {
    const row = new Float64Array(featureNames.length);
    if (Array.isArray(instance)) {
      if (instance.length !== featureNames.length)
        throw ServingErrors.badInstance(
          index,
          `has ${instance.length} values; the model takes ${featureNames.length} (${featureNames.join(', ')})`,
        );
      featureNames.forEach((name, f) => {
        const value = valueOf(instance[f], index, name);
        if (typeof value !== 'number') throw value;
        row[f] = value;
      });
    } else if (typeof instance === 'object' && instance !== null) {
      const record = instance as Record<string, unknown>;
      for (const name of featureNames) {
        const value = valueOf(Object.hasOwn(record, name) ? record[name] : undefined, index, name);
        if (typeof value !== 'number') throw value;
        row[position.get(name)!] = value;
      }
    } else {
      throw ServingErrors.badInstance(index, 'must be an object of features by name or an array of values');
    }
    for (const [name, column] of wanted) columns[column]![index] = row[position.get(name)!]!;
  });
  return { columns, rows: instances.length };
}
