/**
 * What a pipeline component is: a named function with a typed interface of input and output
 * parameters (small JSON values) and artifacts (files behind a URI), the same vocabulary as KFP v2
 * (`parameterType`, `schemaTitle`), so one description runs in-process and compiles to a Vertex AI
 * PipelineSpec unchanged.
 *
 * A component is written against its typed interface (`run` gets typed params, returns typed
 * outputs); runners see it on the JSON wire form (`invoke`), where every value is checked against
 * the interface on the way in and out.
 */
import type { Logger, ModelRegistry, ObjectStore, WarehouseAccess } from '@mlops/kernel';
import { TrainerErrors } from '../errors.js';

/** KFP v2 parameter types (`ParameterType.ParameterTypeEnum` of pipeline_spec.proto). */
export type ParameterType = 'STRING' | 'NUMBER_INTEGER' | 'NUMBER_DOUBLE' | 'BOOLEAN' | 'LIST' | 'STRUCT';

/** KFP v2 system artifact types (`schemaTitle`, schema version 0.0.1). */
export type ArtifactType = 'system.Dataset' | 'system.Model' | 'system.Metrics' | 'system.Artifact';

/** A JSON value, as parameters carry (google.protobuf.Value). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The TypeScript value of a parameter type. */
export type ValueOfType<T extends ParameterType> = T extends 'STRING'
  ? string
  : T extends 'NUMBER_INTEGER' | 'NUMBER_DOUBLE'
    ? number
    : T extends 'BOOLEAN'
      ? boolean
      : T extends 'LIST'
        ? JsonValue[]
        : { [key: string]: JsonValue };

/**
 * A value's shape beyond its KFP type (a LIST's items, a STRUCT's fields): checked wherever the
 * value crosses a boundary, so the typed side can trust it.
 */
export interface Shape<V> {
  /** What a value must be, for error messages. */
  readonly describe: string;
  is(value: unknown): value is V;
}

/** One parameter of a component's interface. */
export interface ParameterSpec<T extends ParameterType = ParameterType, V = unknown> {
  readonly type: T;
  readonly description: string;
  /** A narrower TypeScript type than the KFP type's (not part of the compiled spec). */
  readonly shape?: Shape<V>;
}

/** One artifact of a component's interface. */
export interface ArtifactSpec<T extends ArtifactType = ArtifactType> {
  readonly type: T;
  readonly description: string;
}

/** The typed interface of a component: names are snake_case, as KFP names them. */
export interface ComponentInterface {
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
  readonly artifacts: Readonly<Record<string, ArtifactSpec>>;
  readonly outputParameters: Readonly<Record<string, ParameterSpec>>;
  readonly outputArtifacts: Readonly<Record<string, ArtifactSpec>>;
}

/** The TypeScript value of a parameter: its shape's type, else its KFP type's. */
export type ValueOf<S extends { readonly type: ParameterType }> = S extends { readonly shape: Shape<infer V> }
  ? V
  : ValueOfType<S['type']>;

/** Values of a set of parameters. */
export type ParameterValues<P extends Readonly<Record<string, ParameterSpec>>> = {
  -readonly [K in keyof P]: ValueOf<P[K]>;
};

/** An input artifact: read its bytes. */
export interface ArtifactInput {
  readonly uri: string;
  read(): Promise<Buffer>;
}

/** An output artifact: write its bytes once, with optional metadata (shown by Vertex for Metrics). */
export interface ArtifactOutput {
  readonly uri: string;
  write(bytes: Uint8Array | string, metadata?: Record<string, JsonValue>): Promise<void>;
}

/** The ports a component may use. The warehouse is reached in read and write sessions. */
export interface ComponentDeps {
  readonly warehouse: WarehouseAccess;
  readonly objects: ObjectStore;
  readonly registry: ModelRegistry;
  readonly log: Logger;
}

/** What a component's `run` receives. */
export interface ComponentRunInput<I extends ComponentInterface> {
  readonly params: ParameterValues<I['parameters']>;
  readonly artifacts: { readonly [K in keyof I['artifacts']]: ArtifactInput };
  readonly outputs: { readonly [K in keyof I['outputArtifacts']]: ArtifactOutput };
}

/** What a runner hands a component: the wire values, checked by {@link AnyComponent.invoke}. */
export interface ComponentWireInput {
  readonly params: Readonly<Record<string, unknown>>;
  readonly artifacts: Readonly<Record<string, ArtifactInput>>;
  readonly outputs: Readonly<Record<string, ArtifactOutput>>;
}

/** A component as runners, the compiler and the catalogue see it: its interface and its wire form. */
export interface AnyComponent {
  /** snake_case name; the container runs `components/main.ts <name>`. */
  readonly name: string;
  readonly description: string;
  readonly io: ComponentInterface;
  /**
   * Check the parameters known before the run starts (those bound to pipeline parameters or
   * constants), so a bad model name fails before any data is read. Throws on a bad value.
   */
  preflight(known: Readonly<Record<string, unknown>>): void;
  /**
   * Run on wire values: inputs are checked against the interface before `run`, outputs after it
   * (`TRAINER.INVALID_COMPONENT_IO`). Resolves to the output parameters.
   */
  invoke(input: ComponentWireInput, deps: ComponentDeps): Promise<Record<string, unknown>>;
}

/** A component as written: its typed interface and the function behind it. */
export interface ComponentDefinition<I extends ComponentInterface> {
  readonly name: string;
  readonly description: string;
  readonly io: I;
  /** Check the parameters known before the run (see {@link AnyComponent.preflight}). Throws on a bad value. */
  validate?(params: Partial<ParameterValues<I['parameters']>>): void;
  run(input: ComponentRunInput<I>, deps: ComponentDeps): Promise<ParameterValues<I['outputParameters']>>;
}

/** A pipeline component: typed for its author and for pipelines, on the wire for runners. */
export interface Component<I extends ComponentInterface = ComponentInterface>
  extends ComponentDefinition<I>,
    AnyComponent {
  readonly io: I;
}

/** Whether a JSON value matches a parameter type. */
export function matchesType(type: ParameterType, value: unknown): boolean {
  switch (type) {
    case 'STRING':
      return typeof value === 'string';
    case 'NUMBER_INTEGER':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'NUMBER_DOUBLE':
      return typeof value === 'number' && Number.isFinite(value);
    case 'BOOLEAN':
      return typeof value === 'boolean';
    case 'LIST':
      return Array.isArray(value);
    case 'STRUCT':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
}

/** Whether a value matches a parameter's type and shape. */
export function matchesSpec(spec: { readonly type: ParameterType; readonly shape?: Shape<unknown> }, value: unknown) {
  return matchesType(spec.type, value) && (spec.shape?.is(value) ?? true);
}

/** What a parameter must be, for messages: `LIST` or `LIST of <shape>`. */
export function expected(spec: { readonly type: ParameterType; readonly shape?: Shape<unknown> }): string {
  return spec.shape ? `${spec.type} of ${spec.shape.describe}` : spec.type;
}

/** The first value that does not match its parameter (`input x must be a STRING (got 3)`), if any. */
export function parameterMismatch(
  specs: Readonly<Record<string, ParameterSpec>>,
  values: Readonly<Record<string, unknown>>,
  what: 'input' | 'output',
): string | undefined {
  for (const [name, spec] of Object.entries(specs)) {
    const value = values[name];
    if (!matchesSpec(spec, value))
      return what === 'input'
        ? `input ${name} must be a ${expected(spec)} (got ${JSON.stringify(value)?.slice(0, 80)})`
        : `output ${name} must be a ${expected(spec)}`;
  }
  return undefined;
}

/** Whether every value given matches its parameter (missing ones are fine). */
function hasSomeParameterValues<P extends Readonly<Record<string, ParameterSpec>>>(
  specs: P,
  values: Readonly<Record<string, unknown>>,
): values is Readonly<Record<string, unknown>> & Partial<ParameterValues<P>> {
  return Object.entries(values).every(([name, value]) => {
    const spec = specs[name];
    return spec !== undefined && matchesSpec(spec, value);
  });
}

/** What is wrong with a component's wire input, if anything. */
function inputMismatch(io: ComponentInterface, input: ComponentWireInput): string | undefined {
  const mismatch = parameterMismatch(io.parameters, input.params, 'input');
  if (mismatch) return mismatch;
  for (const name of Object.keys(io.artifacts))
    if (!input.artifacts[name]) return `input artifact ${name} was not given`;
  for (const name of Object.keys(io.outputArtifacts))
    if (!input.outputs[name]) return `output artifact ${name} has no destination`;
  return undefined;
}

/** Whether a wire input fits a component's interface (checked: `run` trusts its input). */
function isRunInput<I extends ComponentInterface>(
  io: I,
  input: ComponentWireInput,
): input is ComponentWireInput & ComponentRunInput<I> {
  return inputMismatch(io, input) === undefined;
}

/** Define a component, keeping the literal types of its interface, and give it its wire form. */
export function defineComponent<const I extends ComponentInterface>(definition: ComponentDefinition<I>): Component<I> {
  const { io, name } = definition;
  return {
    ...definition,
    preflight(known) {
      if (!definition.validate) return;
      if (!hasSomeParameterValues(io.parameters, known)) {
        const given = Object.fromEntries(Object.entries(io.parameters).filter(([input]) => input in known));
        throw TrainerErrors.invalidComponentIo(name, parameterMismatch(given, known, 'input') ?? 'unknown input');
      }
      definition.validate(known);
    },
    async invoke(input, deps) {
      if (!isRunInput(io, input)) throw TrainerErrors.invalidComponentIo(name, inputMismatch(io, input) ?? 'bad input');
      const produced = await definition.run(input, deps);
      const mismatch = parameterMismatch(io.outputParameters, produced, 'output');
      if (mismatch) throw TrainerErrors.invalidComponentIo(name, mismatch);
      return produced;
    },
  };
}
