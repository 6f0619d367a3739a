/** The catalogue of pipeline components, by name (the name the container entrypoint takes). */
import { batchPredictComponent } from './batch-predict.component.js';
import type { Component, ComponentInterface } from './component.js';
import { evaluateComponent } from './evaluate.component.js';
import { featuresComponent } from './features.component.js';
import { refitComponent } from './refit.component.js';
import { registerComponent } from './register.component.js';
import { trainComponent } from './train.component.js';

/** Every component of the churn pipeline. */
export const COMPONENTS: Readonly<Record<string, Component<ComponentInterface>>> = Object.freeze({
  features: featuresComponent as unknown as Component<ComponentInterface>,
  train: trainComponent as unknown as Component<ComponentInterface>,
  evaluate: evaluateComponent as unknown as Component<ComponentInterface>,
  refit: refitComponent as unknown as Component<ComponentInterface>,
  register: registerComponent as unknown as Component<ComponentInterface>,
  batch_predict: batchPredictComponent as unknown as Component<ComponentInterface>,
});

export {
  batchPredictComponent,
  evaluateComponent,
  featuresComponent,
  refitComponent,
  registerComponent,
  trainComponent,
};
