/**
 * A Vertex AI step runs its component by name (`components/main.js <name>`): every component the
 * pipelines use must be in the entrypoint's catalogue, or its step fails on Vertex only.
 */
import { describe, expect, it } from 'vitest';
import { componentNamed } from '../src/components/index.js';
import { CHURN_PREDICT_PIPELINE, CHURN_TRAINING_PIPELINE } from '../src/pipeline/churn.pipeline.js';

describe('component catalogue of the step entrypoint', () => {
  it.each([CHURN_TRAINING_PIPELINE, CHURN_PREDICT_PIPELINE])('holds every component of $name', (pipeline) => {
    for (const task of Object.values(pipeline.tasks)) expect(componentNamed(task.component.name)).toBe(task.component);
  });
});
