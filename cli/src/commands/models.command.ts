import { ModelRegistry, type Platform } from '@mlops/kernel';
import { table } from '../format.js';
import type { CliIo } from '../io.js';

const auc = (value: number | null | undefined) => (typeof value === 'number' ? value.toFixed(3) : '');
const signed = (value: unknown) => (typeof value === 'number' ? `${value >= 0 ? '+' : ''}${value.toFixed(4)}` : '');

/**
 * `mlops models`: every version with its metrics (on the active customers it scores, and on the
 * whole holdout), the champion marked, the promotions, then every champion/challenger decision
 * with its evidence. `--json` prints everything the registry holds, lineage included.
 */
export async function modelsCommand(platform: Platform, command: { json: boolean }, io: CliIo): Promise<number> {
  const registry = new ModelRegistry(platform.documents);
  const versions = await registry.list();
  const promotions = await registry.promotions();
  const decisions = await registry.decisions();
  const championOf = new Map<string, string>();
  for (const promotion of promotions) championOf.set(promotion.modelName, promotion.version);
  if (command.json) {
    io.out(JSON.stringify({ versions, promotions, decisions, champions: Object.fromEntries(championOf) }, null, 2));
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
        'ROC AUC active',
        'ROC AUC all',
        'PR AUC',
        'log loss',
        'baseline AUC',
        'run',
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
        auc(v.sliceMetrics?.all?.rocAuc),
        v.metrics.prAuc.toFixed(3),
        v.metrics.logLoss.toFixed(3),
        v.baselineMetrics ? v.baselineMetrics.rocAuc.toFixed(3) : '',
        v.lineage?.runId ?? '',
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
  if (decisions.length > 0) {
    io.out('\nDecisions (active customers of the challenger holdout; paired bootstrap by customer)');
    io.out(
      table(
        ['model', 'decided at', 'challenger', 'against', 'outcome', 'rows', 'Δ ROC AUC', '95 % interval', 'reason'],
        decisions.map((d) => {
          const difference = d.evidence.difference as { rocAuc?: number; low?: number; high?: number } | null;
          return [
            d.modelName,
            d.decidedAt.slice(0, 19).replace('T', ' '),
            d.challengerVersion,
            d.championVersion ?? 'none',
            d.promoted ? 'promoted' : 'kept',
            typeof d.evidence.rows === 'number' ? d.evidence.rows : '',
            signed(difference?.rocAuc),
            difference ? `${signed(difference.low)} .. ${signed(difference.high)}` : '',
            d.reason,
          ];
        }),
      ),
    );
  }
  return 0;
}
