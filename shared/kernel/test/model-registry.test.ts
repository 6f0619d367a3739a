import { describe, expect, it } from 'vitest';
import { ModelRegistry, type ModelVersion } from '@mlops/kernel';
import { InMemoryDocumentStore } from '@mlops/testing';

function version(fingerprint: string, auc: number, createdAt = '2026-03-01T00:00:00Z'): ModelVersion {
  return {
    modelName: 'churn',
    version: ModelRegistry.versionFor(fingerprint),
    fingerprint,
    createdAt,
    algorithm: 'gbdt',
    dataRange: { from: '2026-01-01', to: '2026-02-28' },
    dataFingerprint: fingerprint,
    trainingRows: 1000,
    holdoutRows: 200,
    holdoutRange: { from: '2026-02-01', to: '2026-02-28' },
    params: { trees: 100 },
    metrics: { rocAuc: auc, prAuc: 0.5, logLoss: 0.4 },
    featureImportance: [],
    codeVersion: 'test',
    artifactUri: `mlops/models/churn/${fingerprint.slice(0, 12)}/model.json`,
  };
}

describe('model registry', () => {
  it('registers the same fingerprint once', async () => {
    const registry = new ModelRegistry(new InMemoryDocumentStore());
    const v = version('a'.repeat(64), 0.8);
    expect(await registry.register(v)).toBe(true);
    expect(await registry.register({ ...v, createdAt: '2026-03-02T00:00:00Z' })).toBe(false);
    expect(await registry.list('churn')).toHaveLength(1);
  });

  it('keeps the promotion history and names the latest promotion champion', async () => {
    const registry = new ModelRegistry(new InMemoryDocumentStore());
    const first = version('a'.repeat(64), 0.7, '2026-03-01T00:00:00Z');
    const second = version('b'.repeat(64), 0.8, '2026-03-08T00:00:00Z');
    await registry.register(first);
    await registry.register(second);
    expect(await registry.champion('churn')).toBeUndefined();
    await registry.promote({
      modelName: 'churn',
      version: first.version,
      previousChampion: null,
      promotedAt: '2026-03-01T00:00:01Z',
      reason: 'first model',
      challengerRocAuc: 0.7,
      championRocAuc: null,
    });
    expect(
      await registry.promote({
        modelName: 'churn',
        version: first.version,
        previousChampion: first.version,
        promotedAt: '2026-03-01T00:00:02Z',
        reason: 'again',
        challengerRocAuc: 0.7,
        championRocAuc: 0.7,
      }),
    ).toBe(false);
    await registry.promote({
      modelName: 'churn',
      version: second.version,
      previousChampion: first.version,
      promotedAt: '2026-03-08T00:00:01Z',
      reason: 'better',
      challengerRocAuc: 0.8,
      championRocAuc: 0.7,
    });
    expect((await registry.champion('churn'))?.version).toBe(second.version);
    expect((await registry.promotions('churn')).map((p) => p.version)).toEqual([first.version, second.version]);
  });

  it('refuses to promote an unregistered version, and a version that does not match its fingerprint', async () => {
    const registry = new ModelRegistry(new InMemoryDocumentStore());
    await expect(
      registry.promote({
        modelName: 'churn',
        version: 'v-000000000000',
        previousChampion: null,
        promotedAt: 'x',
        reason: 'r',
        challengerRocAuc: 1,
        championRocAuc: null,
      }),
    ).rejects.toMatchObject({ code: 'REGISTRY.UNKNOWN_VERSION' });
    await expect(registry.register({ ...version('c'.repeat(64), 0.5), version: 'v-other' })).rejects.toMatchObject({
      code: 'REGISTRY.BAD_VERSION',
    });
  });
});
