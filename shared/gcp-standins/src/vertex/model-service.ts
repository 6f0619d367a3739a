/**
 * The ModelService calls of the Vertex AI Model Registry that the product makes: `getModel`,
 * `listModelVersions`, `uploadModel` (a long-running operation, answered done) and
 * `mergeVersionAliases`. Models live in memory. An alias names one version of a model at a time:
 * giving it to a second version is refused, as Vertex refuses it.
 */
import { HttpError, onlyFields } from '../http/server.js';

type Model = Record<string, unknown> & {
  name: string;
  versionId: string;
  versionAliases: string[];
  labels: Record<string, string>;
};

const ALIAS = /^-?[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$/;

/** The stand-in's Model Registry. */
export class StandinModels {
  private readonly models = new Map<string, Model[]>();
  private operations = 0;

  /** `models/<id>` or `models/<id>@<version or alias>` as the versions it names. */
  private find(name: string): { base: string; versions: Model[]; version?: Model } {
    const [base, selector] = decodeURIComponent(name).split('@') as [string, string | undefined];
    const versions = this.models.get(base);
    if (!versions) throw new HttpError(404, 'notFound', `Model ${base} not found.`);
    if (selector === undefined) return { base, versions };
    const version = versions.find((v) => v.versionId === selector || v.versionAliases.includes(selector));
    if (!version) throw new HttpError(404, 'notFound', `Model version ${name} not found.`);
    return { base, versions, version };
  }

  /** `getModel`: the default version (aliased `default`), or the one named after `@`. */
  get(name: string): Model {
    const { versions, version } = this.find(name);
    return version ?? versions.find((v) => v.versionAliases.includes('default')) ?? versions[0]!;
  }

  /** `listModelVersions`. */
  list(name: string): Model[] {
    return this.find(name).versions;
  }

  /** `uploadModel`: a new model, or a new version of `parentModel`; resolves to the done operation. */
  upload(parent: string, body: Record<string, unknown>): Record<string, unknown> {
    onlyFields(body, ['modelId', 'parentModel', 'model'], 'UploadModelRequest');
    const model = (body.model ?? {}) as Record<string, unknown>;
    onlyFields(
      model,
      ['displayName', 'description', 'versionDescription', 'artifactUri', 'containerSpec', 'labels', 'versionAliases'],
      'Model',
    );
    const container = (model.containerSpec ?? {}) as Record<string, unknown>;
    onlyFields(
      container,
      ['imageUri', 'command', 'args', 'env', 'ports', 'healthRoute', 'predictRoute'],
      'containerSpec',
    );
    if (!model.displayName) throw new HttpError(400, 'invalid', 'model.display_name is required.');
    if (!container.imageUri) throw new HttpError(400, 'invalid', 'model.container_spec.image_uri is required.');
    const aliases = ((model.versionAliases ?? []) as string[]).filter((alias) => alias !== 'default');
    for (const alias of aliases)
      if (!ALIAS.test(alias) || alias.startsWith('-'))
        throw new HttpError(400, 'invalid', `version alias ${alias} is not valid.`);
    let base: string;
    let versions: Model[];
    if (body.parentModel) {
      ({ base, versions } = this.find(String(body.parentModel)));
    } else {
      const id = String(body.modelId ?? `${Date.now()}`);
      if (!/^[a-z0-9][a-z0-9-]{0,127}$/.test(id)) throw new HttpError(400, 'invalid', `model id ${id} is not valid.`);
      base = `${parent}/models/${id}`;
      if (this.models.has(base)) throw new HttpError(409, 'alreadyExists', `Model ${base} already exists.`);
      versions = [];
    }
    for (const alias of aliases)
      if (versions.some((v) => v.versionAliases.includes(alias)))
        throw new HttpError(400, 'invalid', `alias ${alias} is already used by another version of ${base}.`);
    const time = new Date().toISOString();
    const versionId = String(versions.length + 1);
    const created: Model = {
      ...model,
      name: base,
      versionId,
      versionAliases: versions.length === 0 ? ['default', ...aliases] : aliases,
      labels: { ...((model.labels ?? {}) as Record<string, string>) },
      createTime: time,
      updateTime: time,
      versionCreateTime: time,
      versionUpdateTime: time,
    };
    versions.push(created);
    this.models.set(base, versions);
    this.operations += 1;
    return {
      name: `${parent}/operations/${this.operations}`,
      done: true,
      response: {
        '@type': 'type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse',
        model: base,
        modelVersionId: versionId,
      },
    };
  }

  /** `mergeVersionAliases`: `-alias` removes, `alias` adds (refused when another version holds it). */
  mergeAliases(name: string, body: Record<string, unknown>): Model {
    onlyFields(body, ['versionAliases'], 'MergeVersionAliasesRequest');
    const { versions, version } = this.find(name);
    if (!version) throw new HttpError(400, 'invalid', 'mergeVersionAliases needs a version (model@version).');
    for (const alias of (body.versionAliases ?? []) as string[]) {
      if (!ALIAS.test(alias) || alias === 'default' || alias === '-default')
        throw new HttpError(400, 'invalid', `version alias ${alias} cannot be merged.`);
      if (alias.startsWith('-')) {
        version.versionAliases = version.versionAliases.filter((held) => held !== alias.slice(1));
        continue;
      }
      if (versions.some((other) => other !== version && other.versionAliases.includes(alias)))
        throw new HttpError(400, 'invalid', `alias ${alias} is already used by another version of the model.`);
      if (!version.versionAliases.includes(alias)) version.versionAliases.push(alias);
    }
    version.versionUpdateTime = new Date().toISOString();
    return version;
  }
}
