import { PermanentError } from '../errors.js';
import type { DocumentStore, DocumentValue } from '../ports/document-store.port.js';

/** Collections of the model registry in the document store. */
export const MODEL_VERSIONS_COLLECTION = 'model_versions';
export const MODEL_PROMOTIONS_COLLECTION = 'model_promotions';

/** Quality of a model on a holdout set. */
export interface RegistryMetrics {
  rocAuc: number;
  prAuc: number;
  logLoss: number;
  /** Mean predicted probability and observed rate per decile of prediction. */
  calibration?: { decile: number; meanPredicted: number; observedRate: number; count: number }[];
}

/** One registered model version: everything needed to reproduce and judge it. */
export interface ModelVersion {
  modelName: string;
  /** Stable, derived from the fingerprint: the same data and parameters give the same version. */
  version: string;
  /** SHA-256 of training data, parameters and code version. */
  fingerprint: string;
  createdAt: string;
  algorithm: string;
  dataRange: { from: string; to: string };
  /** SHA-256 of the training data alone. */
  dataFingerprint: string;
  trainingRows: number;
  holdoutRows: number;
  /** Holdout snapshot dates the metrics were measured on. */
  holdoutRange: { from: string; to: string };
  params: Record<string, number | string | boolean>;
  metrics: RegistryMetrics;
  baselineMetrics?: RegistryMetrics;
  featureImportance: { feature: string; gain: number; splits: number }[];
  codeVersion: string;
  /** Lake key (or gs:// URI) of the serialized model. */
  artifactUri: string;
  /** Vertex AI Model Registry resource name when uploaded (gcp mode). */
  vertexModel?: string;
}

/** A change of champion, with the evidence. */
export interface Promotion {
  modelName: string;
  version: string;
  previousChampion: string | null;
  promotedAt: string;
  reason: string;
  challengerRocAuc: number;
  championRocAuc: number | null;
}

function versionId(modelName: string, version: string): string {
  return `${modelName}__${version}`;
}

/**
 * The model registry over the document store: versions (idempotent by fingerprint) and the
 * promotion history. The champion of a model is its latest promotion.
 */
export class ModelRegistry {
  constructor(private readonly documents: DocumentStore) {}

  /** The version name a fingerprint gets: deterministic, so re-training identically is a no-op. */
  static versionFor(fingerprint: string): string {
    if (!/^[0-9a-f]{64}$/.test(fingerprint))
      throw new PermanentError('REGISTRY.BAD_FINGERPRINT', 'a fingerprint is a lowercase hex SHA-256');
    return `v-${fingerprint.slice(0, 12)}`;
  }

  /** Register a version; returns false when the same version already exists (nothing changes). */
  async register(version: ModelVersion): Promise<boolean> {
    if (version.version !== ModelRegistry.versionFor(version.fingerprint)) {
      throw new PermanentError('REGISTRY.BAD_VERSION', `version ${version.version} does not match its fingerprint`);
    }
    if (await this.get(version.modelName, version.version)) return false;
    await this.documents.upsertBatch(MODEL_VERSIONS_COLLECTION, [
      { id: versionId(version.modelName, version.version), data: version as unknown as Record<string, DocumentValue> },
    ]);
    return true;
  }

  /** One version, or undefined. */
  async get(modelName: string, version: string): Promise<ModelVersion | undefined> {
    const document = await this.documents.get(MODEL_VERSIONS_COLLECTION, versionId(modelName, version));
    return document?.data as unknown as ModelVersion | undefined;
  }

  /** Every version of a model (or of all models), oldest first. */
  async list(modelName?: string): Promise<ModelVersion[]> {
    const out: ModelVersion[] = [];
    const where = modelName ? [{ field: 'modelName', op: '==' as const, value: modelName }] : [];
    for await (const document of this.documents.query(MODEL_VERSIONS_COLLECTION, { where }))
      out.push(document.data as unknown as ModelVersion);
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.version.localeCompare(b.version));
  }

  /** Promotions of a model (or of all models), oldest first. */
  async promotions(modelName?: string): Promise<Promotion[]> {
    const out: Promotion[] = [];
    const where = modelName ? [{ field: 'modelName', op: '==' as const, value: modelName }] : [];
    for await (const document of this.documents.query(MODEL_PROMOTIONS_COLLECTION, { where }))
      out.push(document.data as unknown as Promotion);
    return out.sort((a, b) => a.promotedAt.localeCompare(b.promotedAt));
  }

  /** The current champion, or undefined before the first promotion. */
  async champion(modelName: string): Promise<ModelVersion | undefined> {
    const history = await this.promotions(modelName);
    const latest = history[history.length - 1];
    return latest ? this.get(modelName, latest.version) : undefined;
  }

  /**
   * Note where a version lives in the Vertex AI Model Registry (gcp mode), once it is uploaded.
   * Changes only that field; a no-op when it already holds the same name.
   */
  async recordVertexModel(modelName: string, version: string, vertexModel: string): Promise<void> {
    const existing = await this.get(modelName, version);
    if (!existing)
      throw new PermanentError(
        'REGISTRY.UNKNOWN_VERSION',
        `cannot annotate ${modelName} ${version}: it is not registered`,
      );
    if (existing.vertexModel === vertexModel) return;
    await this.documents.upsertBatch(MODEL_VERSIONS_COLLECTION, [
      {
        id: versionId(modelName, version),
        data: { ...existing, vertexModel } as unknown as Record<string, DocumentValue>,
      },
    ]);
  }

  /** Record a promotion (idempotent: promoting the current champion again changes nothing). */
  async promote(promotion: Promotion): Promise<boolean> {
    if (!(await this.get(promotion.modelName, promotion.version))) {
      throw new PermanentError(
        'REGISTRY.UNKNOWN_VERSION',
        `cannot promote ${promotion.modelName} ${promotion.version}: it is not registered`,
      );
    }
    const current = await this.champion(promotion.modelName);
    if (current?.version === promotion.version) return false;
    const history = await this.promotions(promotion.modelName);
    const id = `${promotion.modelName}__${String(history.length + 1).padStart(6, '0')}`;
    await this.documents.upsertBatch(MODEL_PROMOTIONS_COLLECTION, [
      { id, data: promotion as unknown as Record<string, DocumentValue> },
    ]);
    return true;
  }
}
