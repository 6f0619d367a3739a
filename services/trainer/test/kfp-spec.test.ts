/**
 * The compiled KFP v2 IR is checked by a validator written here from pipeline_spec.proto, not by
 * the compiler's own checks: every task's component and executor exist, every declared input of
 * a component is wired on its task to something that exists and has the same type, producers are
 * dependencies, and the DAG is acyclic.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryObjectStore } from '@mlops/testing';
import { CHURN_PREDICT_PIPELINE, CHURN_TRAINING_PIPELINE } from '../src/pipeline/churn.pipeline.js';
import { compilePipeline, specBytes, storePipelineSpec, type PipelineSpecJson } from '../src/pipeline/kfp.compiler.js';
import {
  fromPipeline,
  fromTask,
  pipelineProblems,
  selectTasks,
  task,
  type PipelineDefinition,
} from '../src/pipeline/dag.js';
import { defineComponent } from '../src/components/component.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TYPES = new Set(['STRING', 'NUMBER_INTEGER', 'NUMBER_DOUBLE', 'BOOLEAN', 'LIST', 'STRUCT']);

/** Every way the spec breaks the PipelineSpec contract (empty when valid). */
function specProblems(spec: Json): string[] {
  const problems: string[] = [];
  if (spec.schemaVersion !== '2.1.0') problems.push('schemaVersion is not 2.1.0');
  if (typeof spec.sdkVersion !== 'string' || !spec.sdkVersion) problems.push('sdkVersion missing');
  if (!/^[a-z][a-z0-9-]*$/.test(spec.pipelineInfo?.name ?? ''))
    problems.push('pipelineInfo.name missing or not lowercase-dashed');
  const components: Json = spec.components ?? {};
  const executors: Json = spec.deploymentSpec?.executors ?? {};
  const tasks: Json = spec.root?.dag?.tasks ?? {};
  const rootParameters: Json = spec.root?.inputDefinitions?.parameters ?? {};
  for (const [name, parameter] of Object.entries<Json>(rootParameters)) {
    if (!TYPES.has(parameter.parameterType))
      problems.push(`root parameter ${name} has type ${parameter.parameterType}`);
  }
  for (const [name, component] of Object.entries<Json>(components)) {
    const executor = executors[component.executorLabel];
    if (!executor) problems.push(`component ${name} has no executor ${component.executorLabel}`);
    else {
      const container = executor.container;
      if (!container?.image || !Array.isArray(container.command) || !Array.isArray(container.args))
        problems.push(`executor ${component.executorLabel} is not a container`);
      if (!container?.args?.includes('{{$}}'))
        problems.push(`executor ${component.executorLabel} does not receive the ExecutorInput`);
    }
  }
  for (const [name, spec] of Object.entries<Json>(tasks)) {
    const component = components[spec.componentRef?.name];
    if (!component) {
      problems.push(`task ${name} refers to unknown component ${spec.componentRef?.name}`);
      continue;
    }
    if (spec.taskInfo?.name !== name) problems.push(`task ${name} has taskInfo.name ${spec.taskInfo?.name}`);
    const dependencies = new Set<string>(spec.dependentTasks ?? []);
    for (const [input, definition] of Object.entries<Json>(component.inputDefinitions?.parameters ?? {})) {
      const wired = spec.inputs?.parameters?.[input];
      if (!wired) {
        problems.push(`task ${name}: parameter ${input} is not wired`);
        continue;
      }
      if (wired.componentInputParameter !== undefined) {
        const root = rootParameters[wired.componentInputParameter];
        if (!root)
          problems.push(`task ${name}: ${input} reads missing root parameter ${wired.componentInputParameter}`);
        else if (root.parameterType !== definition.parameterType)
          problems.push(`task ${name}: ${input} type mismatch with root`);
      } else if (wired.taskOutputParameter) {
        const producer = tasks[wired.taskOutputParameter.producerTask];
        const output =
          producer &&
          components[producer.componentRef.name]?.outputDefinitions?.parameters?.[
            wired.taskOutputParameter.outputParameterKey
          ];
        if (!output)
          problems.push(
            `task ${name}: ${input} reads a missing output ${wired.taskOutputParameter.producerTask}.${wired.taskOutputParameter.outputParameterKey}`,
          );
        else if (output.parameterType !== definition.parameterType)
          problems.push(`task ${name}: ${input} type mismatch with producer`);
        if (!dependencies.has(wired.taskOutputParameter.producerTask))
          problems.push(`task ${name}: producer ${wired.taskOutputParameter.producerTask} is not a dependent task`);
      } else if (!wired.runtimeValue) problems.push(`task ${name}: ${input} has no source`);
    }
    for (const [input, definition] of Object.entries<Json>(component.inputDefinitions?.artifacts ?? {})) {
      const wired = spec.inputs?.artifacts?.[input]?.taskOutputArtifact;
      if (!wired) {
        problems.push(`task ${name}: artifact ${input} is not wired`);
        continue;
      }
      const producer = tasks[wired.producerTask];
      const output =
        producer && components[producer.componentRef.name]?.outputDefinitions?.artifacts?.[wired.outputArtifactKey];
      if (!output)
        problems.push(
          `task ${name}: artifact ${input} reads a missing output ${wired.producerTask}.${wired.outputArtifactKey}`,
        );
      else if (output.artifactType.schemaTitle !== definition.artifactType.schemaTitle)
        problems.push(`task ${name}: artifact ${input} type mismatch`);
      if (!dependencies.has(wired.producerTask))
        problems.push(`task ${name}: producer ${wired.producerTask} is not a dependent task`);
    }
    for (const input of Object.keys(spec.inputs?.parameters ?? {}))
      if (!component.inputDefinitions?.parameters?.[input]) problems.push(`task ${name}: wires undeclared ${input}`);
    for (const dependency of dependencies)
      if (!tasks[dependency]) problems.push(`task ${name}: depends on missing task ${dependency}`);
  }
  // Acyclic: repeatedly remove tasks whose dependencies are all removed.
  const remaining = new Map(
    Object.entries<Json>(tasks).map(([name, spec]) => [name, new Set<string>(spec.dependentTasks ?? [])]),
  );
  let progress = true;
  while (remaining.size > 0 && progress) {
    progress = false;
    for (const [name, dependencies] of remaining) {
      if ([...dependencies].every((dependency) => !remaining.has(dependency))) {
        remaining.delete(name);
        progress = true;
      }
    }
  }
  if (remaining.size > 0) problems.push(`cycle among ${[...remaining.keys()].join(', ')}`);
  return problems;
}

const OPTIONS = {
  image: 'europe-west1-docker.pkg.dev/p/mlops/platform:abc',
  env: { MLOPS_MODE: 'gcp', MLOPS_LAKE: 'gs://lake' },
};

describe('KFP v2 PipelineSpec', () => {
  const spec = compilePipeline(CHURN_TRAINING_PIPELINE, OPTIONS) as Json;

  it('is a valid PipelineSpec: every input wired, executors for every component, acyclic', () => {
    expect(specProblems(spec)).toEqual([]);
    expect(Object.keys(spec.root.dag.tasks).sort()).toEqual([
      'batch-predict',
      'evaluate',
      'features',
      'refit',
      'register',
      'train',
    ]);
    expect(Object.keys(spec.deploymentSpec.executors).sort()).toEqual([
      'exec-batch-predict',
      'exec-evaluate',
      'exec-features',
      'exec-refit',
      'exec-register',
      'exec-train',
    ]);
  });

  it('wires the DAG features ▶ train ▶ evaluate ▶ refit ▶ register ▶ batch-predict', () => {
    const tasks = spec.root.dag.tasks;
    expect(tasks.train.dependentTasks).toEqual(['features']);
    expect(tasks.evaluate.dependentTasks).toEqual(['features', 'train']);
    expect(tasks.refit.dependentTasks).toEqual(['evaluate', 'features', 'train']);
    expect(tasks.register.dependentTasks).toEqual(['evaluate', 'features', 'refit', 'train']);
    expect(tasks['batch-predict'].dependentTasks).toEqual(['register']);
    expect(tasks.train.inputs.artifacts.dataset).toEqual({
      taskOutputArtifact: { outputArtifactKey: 'dataset', producerTask: 'features' },
    });
    expect(tasks.register.inputs.parameters.data_fingerprint).toEqual({
      taskOutputParameter: { outputParameterKey: 'data_fingerprint', producerTask: 'features' },
    });
    expect(tasks.features.inputs.parameters.as_of).toEqual({ componentInputParameter: 'as_of' });
    expect(spec.components['comp-evaluate'].outputDefinitions.artifacts.metrics.artifactType).toEqual({
      schemaTitle: 'system.Metrics',
      schemaVersion: '0.0.1',
    });
    expect(spec.root.inputDefinitions.parameters.horizon_days).toMatchObject({
      parameterType: 'NUMBER_INTEGER',
      defaultValue: 30,
      isOptional: true,
    });
    expect(spec.root.inputDefinitions.parameters.as_of.defaultValue).toBeUndefined();
  });

  it('runs each step as the platform image with the KFP placeholders', () => {
    const container = spec.deploymentSpec.executors['exec-batch-predict'].container;
    expect(container.image).toBe(OPTIONS.image);
    expect(container.command).toEqual(['node', 'services/trainer/dist/components/main.js']);
    expect(container.args).toEqual([
      'batch_predict',
      '--executor_input',
      '{{$}}',
      '--pipeline_job',
      '{{$.pipeline_job_name}}',
      '--task',
      '{{$.pipeline_task_name}}',
    ]);
    expect(container.env).toEqual([
      { name: 'MLOPS_LAKE', value: 'gs://lake' },
      { name: 'MLOPS_MODE', value: 'gcp' },
    ]);
  });

  it('compiles the predict-only cut of the same description, its champion version a root parameter', () => {
    const predict = compilePipeline(CHURN_PREDICT_PIPELINE, OPTIONS) as Json;
    expect(specProblems(predict)).toEqual([]);
    expect(Object.keys(predict.root.dag.tasks)).toEqual(['batch-predict']);
    expect(predict.root.dag.tasks['batch-predict'].inputs.parameters.model_version).toEqual({
      componentInputParameter: 'model_version',
    });
    expect(predict.root.inputDefinitions.parameters.model_version).toMatchObject({ parameterType: 'STRING' });
    expect(predict.root.inputDefinitions.parameters.model_version.defaultValue).toBeUndefined();
    expect(predict.root.inputDefinitions.parameters.as_of).toBeUndefined();
  });

  it('gives the same bytes every time, stored content-addressed under mlops/pipelines/', async () => {
    expect(specBytes(compilePipeline(CHURN_TRAINING_PIPELINE, OPTIONS))).toBe(specBytes(spec as PipelineSpecJson));
    const objects = new InMemoryObjectStore();
    const key = await storePipelineSpec(objects, spec as PipelineSpecJson);
    expect(key).toMatch(/^mlops\/pipelines\/mlops-churn-training\/[0-9a-f]{16}\.json$/);
    expect(JSON.parse((await objects.get(key)).toString())).toEqual(spec);
    expect(await objects.head('mlops/pipelines/mlops-churn-training/latest.json')).toBeDefined();
    // Stored again (a redelivery): the content-addressed object is created once, never rewritten.
    const first = await objects.head(key);
    expect(await storePipelineSpec(objects, spec as PipelineSpecJson)).toBe(key);
    expect(await objects.head(key)).toBe(first);
  });

  it('the validator catches an unwired input and a cycle (it can fail)', () => {
    const broken = structuredClone(spec);
    delete broken.root.dag.tasks.register.inputs.parameters.data_fingerprint;
    broken.root.dag.tasks.features.dependentTasks = ['batch-predict'];
    const problems = specProblems(broken);
    expect(problems).toContain('task register: parameter data_fingerprint is not wired');
    expect(problems.some((problem) => problem.startsWith('cycle among'))).toBe(true);
  });
});

describe('pipeline description checks', () => {
  const echo = defineComponent({
    name: 'echo',
    description: 'test',
    io: {
      parameters: { text: { type: 'STRING', description: '' } },
      artifacts: {},
      outputParameters: { text: { type: 'STRING', description: '' } },
      outputArtifacts: {},
    },
    run: async ({ params }) => ({ text: params.text }),
  });

  it.each([
    [
      'an unwired input',
      { a: { ...task(echo, { parameters: { text: fromPipeline('x') }, artifacts: {} }), parameters: {} } },
      'task a: input parameter text is not wired',
    ],
    [
      'an unknown root parameter',
      { a: task(echo, { parameters: { text: fromPipeline('missing') }, artifacts: {} }) },
      'task a: input text reads unknown pipeline parameter missing',
    ],
    [
      'an unknown producer',
      { a: task(echo, { parameters: { text: fromTask('nowhere', 'text') }, artifacts: {} }) },
      'task a: input text reads unknown task nowhere',
    ],
    [
      'a cycle',
      {
        a: task(echo, { parameters: { text: fromTask('b', 'text') }, artifacts: {} }),
        b: task(echo, { parameters: { text: fromTask('a', 'text') }, artifacts: {} }),
      },
      'the tasks a, b form a cycle',
    ],
  ])('reports %s', (_name, tasks, problem) => {
    const pipeline: PipelineDefinition = {
      name: 'p',
      description: '',
      parameters: { x: { type: 'STRING', description: '' } },
      tasks: tasks as PipelineDefinition['tasks'],
    };
    expect(pipelineProblems(pipeline)).toContain(problem);
    expect(() => compilePipeline(pipeline, OPTIONS)).toThrow(
      expect.objectContaining({ code: 'TRAINER.INVALID_PIPELINE' }),
    );
  });

  it('refuses to cut a pipeline where a kept task reads an artifact of a dropped one', () => {
    expect(() => selectTasks(CHURN_TRAINING_PIPELINE, { name: 'x', description: '', keep: ['evaluate'] })).toThrow(
      expect.objectContaining({ code: 'TRAINER.INVALID_PIPELINE' }),
    );
  });
});
