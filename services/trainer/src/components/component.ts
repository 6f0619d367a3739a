/**
 * What a pipeline component is: a named function with a typed interface of input and output
 * parameters (small JSON values) and artifacts (files behind a URI), the same vocabulary as KFP v2
 * (`parameterType`, `schemaTitle`), so one description runs in-process and compiles to a Vertex AI
 * PipelineSpec unchanged.
 */
import type { Logger, ModelRegistry, ObjectStore, WarehouseAccess } from '@mlops/kernel';

/** KFP v2 parameter types (`ParameterType.ParameterTypeEnum` of pipeline_spec.proto). */
export type ParameterType = 'STRING' | 'NUMBER_INTEGER' | 'NUMBER_DOUBLE' | 'BOOLEAN' | 'LIST' | 'STRUCT';

/** KFP v2 system artifact types (`schemaTitle`, schema version 0.0.1). */
export type ArtifactType = 'system.Dataset' | 'system.Model' | 'system.Metrics' | 'system.Artifact';

/** A JSON value, as parameters carry (google.protobuf.Value). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The TypeScript value of a parameter type. */
export type ValueOf<T extends ParameterType> = T extends 'STRING'
  ? string
  : T extends 'NUMBER_INTEGER' | 'NUMBER_DOUBLE'
    ? number
    : T extends 'BOOLEAN'
      ? boolean
      : T extends 'LIST'
        ? JsonValue[]
        : { [key: string]: JsonValue };

/** One parameter of a component's interface. */
export interface ParameterSpec<T extends ParameterType = ParameterType> {
  readonly type: T;
  readonly description: string;
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

/** Values of a set of parameters. */
export type ParameterValues<P extends Readonly<Record<string, ParameterSpec>>> = {
  -readonly [K in keyof P]: ValueOf<P[K]['type']>;
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

/** A pipeline component: a typed interface and the function behind it. */
export interface Component<I extends ComponentInterface = ComponentInterface> {
  /** snake_case name; the container runs `components/main.ts <name>`. */
  readonly name: string;
  readonly description: string;
  readonly io: I;
  /**
   * Check the parameters known before the run starts (those bound to pipeline parameters or
   * constants), so a bad model name fails before any data is read. Throws on a bad value.
   */
  validate?(params: Partial<ParameterValues<I['parameters']>>): void;
  run(input: ComponentRunInput<I>, deps: ComponentDeps): Promise<ParameterValues<I['outputParameters']>>;
}

/** Define a component, keeping the literal types of its interface. */
export function defineComponent<const I extends ComponentInterface>(component: Component<I>): Component<I> {
  return component;
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
