import { createHash } from 'node:crypto';
import { PermanentError } from '../errors.js';
import type { DocumentStore, DocumentValue } from '../ports/document-store.port.js';

/** Collections of the model registry in the document store. */
export const MODEL_VERSIONS_COLLECTION = 'model_versions';
export const MODEL_PROMOTIONS_COLLECTION = 'model_promotions';
export const MODEL_DECISIONS_COLLECTION = 'model_decisions';

/** Quality of a model on a holdout set. */
export interface RegistryMetrics {
  rocAuc: number;
  prAuc: number;
  logLoss: number;
  /** Mean predicted probability and observed rate per decile of prediction. */
  calibration?: { decile: number; meanPredicted: number; observedRate: number; count: number }[];
}

/** Metrics of one slice of the holdout (ROC AUC and PR AUC are null when the slice holds one class). */
export interface SliceMetrics {
  rows: number;
  positiveRate: number;
  rocAuc: number | null;
  prAuc: number | null;
  logLoss: number;
  /** Expected calibration error over ten equal-count bins of prediction. */
  ece: number;
  calibration?: RegistryMetrics['calibration'];
}

/**
 * Where a version came from, as MLflow or the Vertex Model Registry would record it: the run and
 * the event that caused it, the exact rows it learned from, how they were sampled, what it reads.
 */
export interface ModelLineage {
  /** `runid` of the triggering event: the run it belongs to. */
  runId: string;
  /** `id` of the triggering `warehouse.ready` event. */
  eventId: string;
  /** Why it was trained (`asked`, `backfill-end`, `schedule`, `no-champion`). */
  trigger: string;
  /** SHA-256 of the exact training rows (the dataset artifact: features, labels, slices). */
  rowsFingerprint: string;
  /** Snapshot dates of each part, and the rows the refit artifact learned from. */
  snapshots: { train: string[]; holdout: string[] };
  /** The sampling as applied (effective warm-up included) and the population trained on. */
  sampling: Record<string, number | string>;
  /** Feature columns, in model order. */
  features: string[];
  /** What the artifact is: the model refit on train + holdout after evaluation. */
  artifact: { kind: 'refit'; rows: number; holdoutModelUri: string };
}

/** A champion/challenger decision, promoted or not, with its evidence. */
export interface ModelDecision {
  modelName: string;
  challengerVersion: string;
  /** The champion it was judged against; null when there was none. */
  championVersion: string | null;
  /** Time of the triggering event. */
  decidedAt: string;
  promoted: boolean;
  reason: string;
  runId: string;
  eventId: string;
  /** Figures behind the decision (slice, rows, ROC AUCs and their difference with its interval, log loss, calibration). */
  evidence: Record<string, DocumentValue>;
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
  /** Holdout metrics on the scored population (active customers). */
  metrics: RegistryMetrics;
  baselineMetrics?: RegistryMetrics;
  /** Holdout metrics of the challenger by slice (`all`, `active`, `recency_0_7`, `recency_8_30`, `segment_*`). */
  sliceMetrics?: Record<string, SliceMetrics>;
  /** The same for the baseline. */
  baselineSliceMetrics?: Record<string, SliceMetrics>;
  lineage?: ModelLineage;
  featureImportance: { feature: string; gain: number; splits: number }[];
  codeVersion: string;
  /** Lake key (or gs:// URI) of the serialized model. */
  artifactUri: string;
  /** Vertex AI Model Registry resource name when uploaded (gcp mode). */
  vertexModel?: string;
  /** The container that serves the version (the platform image's prediction server). */
  serving?: ServingContainer;
}

/**
 * How a version is served: a container image, its command and the port and routes its prediction
 * server answers on, in the shape of Vertex AI's `ModelContainerSpec`.
 */
export interface ServingContainer {
  imageUri: string;
  command: string[];
  ports: { containerPort: number }[];
  healthRoute: string;
  predictRoute: string;
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

function decisionId(
  decision: Pick<ModelDecision, 'modelName' | 'challengerVersion' | 'decidedAt' | 'eventId'>,
): string {
  const key = createHash('sha256').update(`${decision.decidedAt}\0${decision.eventId}`).digest('hex').slice(0, 16);
  return `${decision.modelName}__${decision.challengerVersion}__${key}`;
}

/** Field by field: a document store may give a map's keys back in another order. */
function sameServing(a: ServingContainer, b: ServingContainer): boolean {
  return (
    a.imageUri === b.imageUri &&
    a.healthRoute === b.healthRoute &&
    a.predictRoute === b.predictRoute &&
    a.command.join('\0') === b.command.join('\0') &&
    a.ports.map((p) => p.containerPort).join() === b.ports.map((p) => p.containerPort).join()
  );
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

  /** Record the container that serves a version; a no-op when it already holds the same one. */
  async recordServing(modelName: string, version: string, serving: ServingContainer): Promise<void> {
    const existing = await this.get(modelName, version);
    if (!existing)
      throw new PermanentError(
        'REGISTRY.UNKNOWN_VERSION',
        `cannot annotate ${modelName} ${version}: it is not registered`,
      );
    if (existing.serving && sameServing(existing.serving, serving)) return;
    await this.documents.upsertBatch(MODEL_VERSIONS_COLLECTION, [
      {
        id: versionId(modelName, version),
        data: { ...existing, serving } as unknown as Record<string, DocumentValue>,
      },
    ]);
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

  /**
   * Record a champion/challenger decision. Idempotent: the same challenger decided for the same
   * event keeps its first record (a redelivery reports what was decided then).
   */
  async recordDecision(decision: ModelDecision): Promise<ModelDecision> {
    const id = decisionId(decision);
    const existing = await this.documents.get(MODEL_DECISIONS_COLLECTION, id);
    if (existing) return existing.data as unknown as ModelDecision;
    await this.documents.upsertBatch(MODEL_DECISIONS_COLLECTION, [
      { id, data: decision as unknown as Record<string, DocumentValue> },
    ]);
    return decision;
  }

  /** The decision recorded for a challenger and event, if any. */
  async decisionFor(
    key: Pick<ModelDecision, 'modelName' | 'challengerVersion' | 'decidedAt' | 'eventId'>,
  ): Promise<ModelDecision | undefined> {
    const document = await this.documents.get(MODEL_DECISIONS_COLLECTION, decisionId(key));
    return document?.data as unknown as ModelDecision | undefined;
  }

  /** Decisions of a model (or of all models), oldest first. */
  async decisions(modelName?: string): Promise<ModelDecision[]> {
    const out: ModelDecision[] = [];
    const where = modelName ? [{ field: 'modelName', op: '==' as const, value: modelName }] : [];
    for await (const document of this.documents.query(MODEL_DECISIONS_COLLECTION, { where }))
      out.push(document.data as unknown as ModelDecision);
    return out.sort(
      (a, b) => a.decidedAt.localeCompare(b.decidedAt) || a.challengerVersion.localeCompare(b.challengerVersion),
    );
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
