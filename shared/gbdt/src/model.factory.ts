import type { Dataset } from './dataset.js';
import { TRAINER_ERROR_CODES as CODES, TrainerError } from './errors.js';
import { GbdtModel } from './gbdt.model.js';
import { resolveGbdtParams } from './gbdt.params.js';
import { fitGbdt } from './gbdt.trainer.js';
import { LogisticModel, fitLogistic, resolveLogisticParams } from './logistic.model.js';
import { type BinaryClassifier, MODEL_KINDS, type ModelKind, type ModelTrainer } from './model.port.js';
import { asRecord } from './model.json.js';

function unknownModel(name: unknown): TrainerError {
  return new TrainerError(
    CODES.UNKNOWN_MODEL,
    `unknown model ${JSON.stringify(name)}; valid models are ${MODEL_KINDS.map((k) => `"${k}"`).join(', ')}`,
    { model: String(name), valid: [...MODEL_KINDS] },
  );
}

export function isModelKind(name: unknown): name is ModelKind {
  return typeof name === 'string' && (MODEL_KINDS as readonly string[]).includes(name);
}

/**
 * An unfitted model by name. Parameters are validated now, so a bad configuration fails before any
 * data is read. Throws `TRAINER.UNKNOWN_MODEL` (naming the valid ones) or `TRAINER.INVALID_PARAM`.
 */
export function createModel(name: string, params: Readonly<Record<string, unknown>> = {}): ModelTrainer {
  if (name === 'gbdt') {
    const resolved = resolveGbdtParams(params);
    return { kind: 'gbdt', params: Object.freeze({ ...resolved }), fit: (data: Dataset) => fitGbdt(data, resolved) };
  }
  if (name === 'logreg') {
    const resolved = resolveLogisticParams(params);
    return {
      kind: 'logreg',
      params: Object.freeze({ ...resolved }),
      fit: (data: Dataset) => fitLogistic(data, resolved),
    };
  }
  throw unknownModel(name);
}

/** Rebuild a fitted model from its JSON (as stored by the registry), dispatching on `kind`. */
export function loadModel(json: unknown): BinaryClassifier {
  const kind = asRecord(json, 'the model').kind;
  if (kind === 'gbdt') return GbdtModel.fromJSON(json);
  if (kind === 'logreg') return LogisticModel.fromJSON(json);
  throw unknownModel(kind);
}
