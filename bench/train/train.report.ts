import { AUC_DIFFERENCE_TARGET, type BenchParams, FIT_RATIO_TARGET, type TrainBenchResult } from './train.types.js';

const RATIO = `<= ${FIT_RATIO_TARGET.toFixed(1)}x`;
const AUC = `>= ${AUC_DIFFERENCE_TARGET}`;

export function describeParams(p: BenchParams): string {
  return `${p.nTrees} trees, depth ${p.maxDepth}, lr ${p.learningRate}, ${p.maxBins} bins, lambda ${p.lambda}, min_child_weight ${p.minChildWeight}, ${p.threads} threads`;
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;
}

/** One matrix: both sides, the ratios against their targets, the load, and where our time went. */
export function printTable(result: TrainBenchResult, log: (line: string) => void): void {
  log(
    `\ntrain bench, ${result.name} matrix: ${result.trainRows} train + ${result.holdoutRows} holdout rows x ${result.features} features; ${describeParams(result.params)}`,
  );
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(24) : c.padStart(14))).join('');
  log(row(['', 'ours (TS)', 'XGBoost', 'ours/XGB', 'target']));
  const x = result.xgboost;
  const fmt = (v: number, digits: number): string => v.toFixed(digits);
  const ours = result.ours;
  if ('skipped' in x) {
    log(row(['fit seconds (median)', fmt(ours.medianFitSeconds, 3), 'skipped', '', RATIO]));
    log(row(['fit CPU seconds (median)', fmt(ours.medianCpuSeconds, 3), 'skipped', '', '']));
    log(row(['holdout ROC AUC', fmt(ours.holdoutAuc, 4), 'skipped', '', AUC]));
    log(row(['peak RSS MB', fmt(ours.peakRssMb, 0), 'skipped', '', '']));
    log(`XGBoost anchor skipped: ${x.skipped}`);
  } else {
    log(
      row([
        'fit seconds (median)',
        fmt(ours.medianFitSeconds, 3),
        fmt(x.medianFitSeconds, 3),
        `${fmt(result.fitRatio!, 2)}x`,
        RATIO,
      ]),
    );
    log(
      row([
        'fit CPU seconds (median)',
        fmt(ours.medianCpuSeconds, 3),
        fmt(x.medianCpuSeconds, 3),
        `${fmt(ours.medianCpuSeconds / x.medianCpuSeconds, 2)}x`,
        '',
      ]),
    );
    log(row(['holdout ROC AUC', fmt(ours.holdoutAuc, 4), fmt(x.holdoutAuc, 4), signed(result.aucDifference!), AUC]));
    log(row(['peak RSS MB (process)', fmt(ours.peakRssMb, 0), fmt(x.peakRssMb, 0), '', '']));
    const runs = (s: number[]): string => s.map((v) => v.toFixed(3)).join(', ');
    log(`fit seconds per run: ours [${runs(ours.fitSeconds)}], XGBoost ${x.version} [${runs(x.fitSeconds)}]`);
    log(`targets ${result.meetsTargets === true ? 'MET' : 'NOT MET'}`);
  }
  const load = result.loadAverage;
  log(`load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after, on ${load.cores} cores`);
  if (Math.max(load.before, load.after) > 1) {
    // Both sides spin-wait for their threads, and a descheduled thread stalls its whole team, so a
    // busy machine inflates both; compare on an idle machine, or read the CPU seconds too.
    log('warning: other processes were using the CPU; fit times are inflated and the ratio is less reliable');
  }
  const pr = ours.profile;
  const parts = [
    'binning',
    'gradients',
    'histograms',
    'splits',
    'partition',
    'stitch',
    'leaves',
    'waiting',
    'other',
  ].map((k) => `${k} ${(pr[k] ?? 0).toFixed(3)}s`);
  log(`our fit, where the calling thread's time goes (last run, ${pr.threads ?? '?'} threads): ${parts.join(', ')}`);
  if ((pr.threads ?? 1) > 1)
    log(`our worker lane joined the fit ${(pr.lanesJoined ?? -1).toFixed(3)} s after it started`);
}

/** Every matrix side by side. */
export function printSummary(results: readonly TrainBenchResult[], log: (line: string) => void): void {
  if (results.length === 0) return;
  log(`\ntrain bench summary: ${describeParams(results[0]!.params)}`);
  const widths = [12, 18, 10, 10, 10, 10, 10, 10, 11, 14, 13];
  const row = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('');
  log(
    row([
      'matrix',
      'rows x features',
      'fit ours',
      'fit XGB',
      'ratio',
      'CPU ratio',
      'AUC ours',
      'AUC XGB',
      'AUC diff',
      'peak RSS MB',
      'load avg',
    ]),
  );
  log(row(['', '(train+holdout)', 's', 's', RATIO, '', '', '', AUC, 'ours / XGB', 'before/after']));
  for (const r of results) {
    const x = r.xgboost;
    const skipped = 'skipped' in x;
    log(
      row([
        r.name.length > 12 ? `…${r.name.slice(-11)}` : r.name,
        `${r.trainRows + r.holdoutRows} x ${r.features}`,
        r.ours.medianFitSeconds.toFixed(3),
        skipped ? 'skipped' : x.medianFitSeconds.toFixed(3),
        r.fitRatio === null ? '' : `${r.fitRatio.toFixed(2)}x`,
        skipped ? '' : `${(r.ours.medianCpuSeconds / x.medianCpuSeconds).toFixed(2)}x`,
        r.ours.holdoutAuc.toFixed(4),
        skipped ? '' : x.holdoutAuc.toFixed(4),
        r.aucDifference === null ? '' : signed(r.aucDifference),
        `${r.ours.peakRssMb.toFixed(0)} / ${skipped ? '-' : x.peakRssMb.toFixed(0)}`,
        `${r.loadAverage.before.toFixed(2)}/${r.loadAverage.after.toFixed(2)}`,
      ]),
    );
  }
  const missedOn = results.filter((r) => r.meetsTargets !== true).map((r) => r.name);
  log(
    `targets ${missedOn.length === 0 ? 'MET on every matrix' : `MISSED on ${missedOn.join(', ')}`} (${results[0]!.loadAverage.cores} cores)`,
  );
}
