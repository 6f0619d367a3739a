import { TRAINER_ERROR_CODES as CODES, TrainerError } from './errors.js';

/** How one numeric hyper-parameter is checked. */
export interface ParamSpec {
  default: number;
  min: number;
  max: number;
  /** `min` itself is not allowed (e.g. a learning rate of 0). */
  minExclusive?: boolean;
  integer?: boolean;
  doc: string;
}

/**
 * Resolve hyper-parameters against their specs: fill defaults, reject unknown names (a typo would
 * otherwise train silently with a default) and out-of-range values, naming the parameter.
 */
export function resolveParams<K extends string>(
  model: string,
  specs: Readonly<Record<K, ParamSpec>>,
  given: Readonly<Record<string, unknown>> | undefined,
): Record<K, number> {
  const names = Object.keys(specs) as K[];
  for (const key of Object.keys(given ?? {})) {
    if (!(names as string[]).includes(key)) {
      throw new TrainerError(
        CODES.INVALID_PARAM,
        `unknown ${model} parameter "${key}"; valid ones are ${names.join(', ')}`,
        {
          model,
          param: key,
        },
      );
    }
  }
  const out = {} as Record<K, number>;
  for (const name of names) {
    const spec = specs[name];
    const raw = given?.[name];
    const value = raw === undefined ? spec.default : raw;
    const bad = (why: string): TrainerError =>
      new TrainerError(CODES.INVALID_PARAM, `${model} parameter ${name} = ${String(value)} ${why} (${spec.doc})`, {
        model,
        param: name,
      });
    if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('is not a finite number');
    if (spec.integer === true && !Number.isInteger(value)) throw bad('is not an integer');
    if (value < spec.min || (spec.minExclusive === true && value === spec.min)) {
      throw bad(`is below the minimum ${spec.minExclusive === true ? '(exclusive) ' : ''}${spec.min}`);
    }
    if (value > spec.max) throw bad(`is above the maximum ${spec.max}`);
    out[name] = value;
  }
  return out;
}
