/** The catalogue of pipeline components, by name (the name the container entrypoint takes). */
import { batchPredictComponent } from './batch-predict.component.js';
import type { AnyComponent } from './component.js';
import { evaluateComponent } from './evaluate.component.js';
import { featuresComponent } from './features.component.js';
import { refitComponent } from './refit.component.js';
import { registerComponent } from './register.component.js';
import { trainComponent } from './train.component.js';

/** Every component of the churn pipeline, each keeping its own typed interface. */
export const COMPONENTS = Object.freeze({
  features: featuresComponent,
  train: trainComponent,
  evaluate: evaluateComponent,
  refit: refitComponent,
  register: registerComponent,
  batch_predict: batchPredictComponent,
} satisfies Readonly<Record<string, AnyComponent>>);

const BY_NAME: ReadonlyMap<string, AnyComponent> = new Map(Object.entries(COMPONENTS));

/** The component of a name (as the container entrypoint takes it), if there is one. */
export function componentNamed(name: string): AnyComponent | undefined {
  return BY_NAME.get(name);
}

/** The names of every component. */
export const COMPONENT_NAMES: readonly string[] = Object.keys(COMPONENTS);

export {
  batchPredictComponent,
  evaluateComponent,
  featuresComponent,
  refitComponent,
  registerComponent,
  trainComponent,
};
