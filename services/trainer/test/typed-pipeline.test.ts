/**
 * The typed pipeline framework: a run's parameters and each task's outputs are typed from the
 * component definitions (checked by the compiler here), and every value crossing the wire form is
 * checked against them at run time: component inputs and outputs, run results, stored parameters.
 */
import { ModelRegistry, silentLogger } from '@mlops/kernel';
import { InMemoryDocumentStore, InMemoryObjectStore, unusedWarehouse } from '@mlops/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { SnapshotPredictions } from '../src/components/batch-predict.component.js';
import { defineComponent } from '../src/components/component.js';
import {
  CHURN_PREDICT_PIPELINE,
  CHURN_TRAINING_PIPELINE,
  type PredictParameters,
  type TrainingParameters,
  type TrainingRunResult,
} from '../src/pipeline/churn.pipeline.js';
import { definePipeline, fromPipeline, fromTask, task } from '../src/pipeline/dag.js';
import { LocalPipelineRunner } from '../src/pipeline/local.runner.js';
import { decodeRunResult, isRunParameters, runPipeline } from '../src/pipeline/run-result.js';

const deps = {
  warehouse: unusedWarehouse('the test components never read the warehouse'),
  objects: new InMemoryObjectStore(),
  registry: new ModelRegistry(new InMemoryDocumentStore()),
  log: silentLogger,
};

const count = defineComponent({
  name: 'count',
  description: 'counts words',
  io: {
    parameters: { text: { type: 'STRING', description: '' } },
    artifacts: {},
    outputParameters: {
      words: { type: 'NUMBER_INTEGER', description: '' },
      long: { type: 'BOOLEAN', description: '' },
    },
    outputArtifacts: {},
  },
  run: async ({ params }) => {
    const words = params.text.split(' ').filter(Boolean).length;
    // A word count of zero words is reported as NaN: an output of the wrong type at run time.
    return { words: words === 0 ? Number.NaN : words, long: words > 3 };
  },
});

const label = defineComponent({
  name: 'label',
  description: 'labels a count',
  io: {
    parameters: { words: { type: 'NUMBER_INTEGER', description: '' }, long: { type: 'BOOLEAN', description: '' } },
    artifacts: {},
    outputParameters: { label: { type: 'STRING', description: '' } },
    outputArtifacts: {},
  },
  run: async ({ params }) => ({ label: `${params.words} word(s)${params.long ? ', long' : ''}` }),
});

const WORDS = definePipeline({
  name: 'words',
  description: 'count, then label',
  parameters: {
    text: { type: 'STRING', description: '' },
    unused: { type: 'NUMBER_INTEGER', description: '', default: 1 },
  },
  tasks: {
    count: task(count, { parameters: { text: fromPipeline('text') }, artifacts: {} }),
    label: task(label, {
      parameters: { words: fromTask('count', 'words'), long: fromTask('count', 'long') },
      artifacts: {},
    }),
  },
});

describe('typed pipeline definitions', () => {
  it('types the churn pipelines from their components', () => {
    expectTypeOf<TrainingRunResult['tasks']['register']['outputs']['version']>().toEqualTypeOf<string>();
    expectTypeOf<TrainingRunResult['tasks']['register']['outputs']['promoted']>().toEqualTypeOf<boolean>();
    expectTypeOf<TrainingRunResult['tasks']['features']['outputs']['train_rows']>().toEqualTypeOf<number>();
    expectTypeOf<TrainingRunResult['tasks']['batch_predict']['outputs']['predictions']>().toEqualTypeOf<
      SnapshotPredictions[]
    >();
    expectTypeOf<TrainingParameters['as_of']>().toEqualTypeOf<string>();
    expectTypeOf<TrainingParameters['horizon_days']>().toEqualTypeOf<number | undefined>();
    // The prediction-only pipeline: the root parameters batch_predict reads, and its lifted inputs.
    expectTypeOf<keyof PredictParameters>().toEqualTypeOf<
      | 'model_name'
      | 'model_version'
      | 'first_champion'
      | 'snapshot_dates'
      | 'predicted_at'
      | 'horizon_days'
      | 'feature_table'
      | 'warehouse_schema'
      | 'medium_threshold'
      | 'high_threshold'
    >();
    expectTypeOf<PredictParameters['model_version']>().toEqualTypeOf<string>();
    expectTypeOf<PredictParameters['first_champion']>().toEqualTypeOf<boolean | undefined>();
    expect(Object.keys(CHURN_PREDICT_PIPELINE.parameters).sort()).toEqual(
      [
        'model_name',
        'model_version',
        'first_champion',
        'snapshot_dates',
        'predicted_at',
        'horizon_days',
        'feature_table',
        'warehouse_schema',
        'medium_threshold',
        'high_threshold',
      ].sort(),
    );
  });

  it('runs a pipeline and reads its outputs typed', async () => {
    const result = await runPipeline(new LocalPipelineRunner({ deps }), {
      pipeline: WORDS,
      parameters: { text: 'one two three four' },
      runKey: 'words',
    });
    expectTypeOf(result.tasks.count.outputs.words).toEqualTypeOf<number>();
    expectTypeOf(result.tasks.label.outputs.label).toEqualTypeOf<string>();
    expect(result.tasks.count.outputs).toEqual({ words: 4, long: true });
    expect(result.tasks.label.outputs.label).toBe('4 word(s), long');
  });

  it('refuses a component output of the wrong type at run time (TRAINER.INVALID_COMPONENT_IO)', async () => {
    const run = runPipeline(new LocalPipelineRunner({ deps }), {
      pipeline: WORDS,
      parameters: { text: ' ' },
      runKey: 'w',
    });
    await expect(run).rejects.toMatchObject({
      code: 'TRAINER.INVALID_COMPONENT_IO',
      message: 'component count: output words must be a NUMBER_INTEGER',
    });
  });

  it('refuses a component input of the wrong type on the wire (TRAINER.INVALID_COMPONENT_IO)', async () => {
    await expect(count.invoke({ params: { text: 3 }, artifacts: {}, outputs: {} }, deps)).rejects.toMatchObject({
      code: 'TRAINER.INVALID_COMPONENT_IO',
      message: 'component count: input text must be a STRING (got 3)',
    });
  });

  it.each([
    [
      'a task missing',
      { count: { outputs: { words: 1, long: false }, durationMs: 1 } },
      'task label reported no outputs',
    ],
    [
      'an output of the wrong type',
      {
        count: { outputs: { words: '1', long: false }, durationMs: 1 },
        label: { outputs: { label: 'x' }, durationMs: 1 },
      },
      'task count: output words must be a NUMBER_INTEGER',
    ],
  ])('refuses a run result with %s (TRAINER.INVALID_RUN_OUTPUT)', (_, tasks, message) => {
    expect(() => decodeRunResult(WORDS, { pipeline: 'words', runKey: 'k', tasks, job: 'jobs/k' })).toThrow(
      expect.objectContaining({
        code: 'TRAINER.INVALID_RUN_OUTPUT',
        message: expect.stringContaining(`pipeline words (job jobs/k): ${message}`),
      }),
    );
  });

  it.each([
    [{ text: 'x' }, true],
    [{ text: 'x', unused: 2 }, true],
    [{}, false],
    [{ text: 1 }, false],
    [{ text: 'x', other: 1 }, false],
  ])('checks stored parameters %j against the pipeline: %s', (values, fits) => {
    expect(isRunParameters(WORDS, values)).toBe(fits);
  });

  it('keeps the training pipeline valid as typed', () => {
    expect(Object.keys(CHURN_TRAINING_PIPELINE.tasks)).toEqual([
      'features',
      'train',
      'evaluate',
      'refit',
      'register',
      'batch_predict',
    ]);
  });
});
