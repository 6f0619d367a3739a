import { ModelRegistry, type Platform } from '@mlops/shared';
import { table } from '../format.js';
import type { CliIo } from '../io.js';

/** `mlops models`: every version with its metrics, the champion marked, then the promotions. */
export async function modelsCommand(platform: Platform, command: { json: boolean }, io: CliIo): Promise<number> {
  const registry = new ModelRegistry(platform.documents);
  const versions = await registry.list();
  const promotions = await registry.promotions();
  const championOf = new Map<string, string>();
  for (const promotion of promotions) championOf.set(promotion.modelName, promotion.version);
  if (command.json) {
    io.out(JSON.stringify({ versions, promotions, champions: Object.fromEntries(championOf) }, null, 2));
    return 0;
  }
  if (versions.length === 0) {
    io.out('no model versions yet: the trainer registers one after the first warehouse.ready');
    return 0;
  }
  io.out(
    table(
      [
        'model',
        'version',
        '',
        'created',
        'algorithm',
        'data',
        'train rows',
        'ROC AUC',
        'PR AUC',
        'log loss',
        'baseline AUC',
        'code',
      ],
      versions.map((v) => [
        v.modelName,
        v.version,
        championOf.get(v.modelName) === v.version ? 'champion' : '',
        v.createdAt.slice(0, 19).replace('T', ' '),
        v.algorithm,
        `${v.dataRange.from}..${v.dataRange.to}`,
        v.trainingRows,
        v.metrics.rocAuc.toFixed(3),
        v.metrics.prAuc.toFixed(3),
        v.metrics.logLoss.toFixed(3),
        v.baselineMetrics ? v.baselineMetrics.rocAuc.toFixed(3) : '',
        v.codeVersion,
      ]),
    ),
  );
  if (promotions.length > 0) {
    io.out('\nPromotions');
    io.out(
      table(
        ['model', 'promoted at', 'version', 'replaced', 'challenger AUC', 'champion AUC', 'reason'],
        promotions.map((p) => [
          p.modelName,
          p.promotedAt.slice(0, 19).replace('T', ' '),
          p.version,
          p.previousChampion ?? '',
          p.challengerRocAuc.toFixed(3),
          p.championRocAuc?.toFixed(3) ?? '',
          p.reason,
        ]),
      ),
    );
  }
  return 0;
}
