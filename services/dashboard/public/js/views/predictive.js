/**
 * The predictive view: churn risk of the active customers at a snapshot, the lapsed ones as a
 * win-back figure, the customers most at risk, the champion's quality over versions and its
 * features, every champion/challenger decision, and predicted against observed churn.
 */
import { getJson } from '../api.js';
import { alpha, BAND_COLORS, drawChart, PALETTE, shortLabel, ticks } from '../charts.js';
import { badge, byTestId, clear, el, fillTable, fmt, setFigure } from '../dom.js';

function riskColor(p) {
  // Green to amber to red as the probability grows (no assumption about the band thresholds).
  const stops = [
    [16, 185, 129],
    [245, 158, 11],
    [239, 68, 68],
  ];
  const t = Math.min(1, Math.max(0, p)) * 2;
  const [a, b] = t < 1 ? [stops[0], stops[1]] : [stops[1], stops[2]];
  const f = t < 1 ? t : t - 1;
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * f)).join(', ')})`;
}

function inRange(date, range) {
  return (!range.from || date >= range.from) && (!range.to || date <= range.to);
}

export async function renderPredictive({ root, range, snapshot, navigate }) {
  const all = (await getJson('/api/predictive/snapshots', { limit: 1000 })).snapshots;
  const candidates = all.filter((row) => inRange(row.snapshotDate, range));
  const choices = candidates.length > 0 ? candidates : all;
  const selected =
    choices.find((row) => row.snapshotDate === snapshot)?.snapshotDate ?? choices[0]?.snapshotDate ?? null;

  const select = byTestId('snapshot-select', root);
  clear(select);
  for (const row of choices)
    select.append(
      el('option', {
        text: `${row.snapshotDate} · ${fmt.count(row.customers)} customers`,
        attrs: { value: row.snapshotDate },
      }),
    );
  if (selected) select.value = selected;
  select.onchange = () => navigate({ snapshot: select.value });

  const s = selected ? { snapshot: selected } : {};
  const [kpis, risk, atRisk, models, features, outcome] = await Promise.all([
    getJson('/api/kpis', { view: 'predictive', ...s }),
    getJson('/api/predictive/risk', s),
    getJson('/api/predictive/at-risk', { ...s, limit: 15 }),
    getJson('/api/predictive/models'),
    getJson('/api/predictive/feature-importance', { limit: 15 }),
    getJson('/api/predictive/predicted-vs-actual', { from: range.from, to: range.to, limit: 12 }),
  ]);

  const k = kpis.kpis;
  byTestId('predictive-range', root).textContent = `snapshot ${fmt.date(kpis.snapshotDate)}`;
  setFigure('kpi-customers-scored', k.customersScored, fmt.count, root);
  byTestId('kpi-snapshot', root).textContent = kpis.snapshotDate
    ? `Snapshot ${kpis.snapshotDate}`
    : 'No predictions yet';
  setFigure('kpi-customers-at-risk', k.highRiskCustomers, fmt.count, root);
  setFigure('kpi-revenue-at-risk', k.revenueAtRiskUsd, fmt.usd, root);
  setFigure('kpi-mean-probability', k.meanProbability, fmt.percent, root);
  setFigure('kpi-champion-auc', k.championRocAuc, fmt.decimal3, root);
  byTestId('kpi-champion-version', root).textContent = k.championVersion
    ? `Champion ${k.championVersion}`
    : 'No champion yet';
  setFigure('kpi-model-versions', k.modelVersions, fmt.count, root);
  setFigure('kpi-win-back', risk.winBack.customers, fmt.count, root);
  byTestId('kpi-win-back-note', root).textContent =
    `No order in ${risk.winBack.horizonDays} d · ${fmt.usd(risk.winBack.revenueUsd90d)} in the 90 d before`;
  byTestId('horizon-days', root).textContent = String(outcome.horizonDays);

  drawChart(byTestId('chart-risk-histogram', root), {
    type: 'bar',
    data: {
      labels: risk.histogram.map((bin) => `${Math.round(bin.from * 100)}–${Math.round(bin.to * 100)}%`),
      datasets: [
        {
          label: 'Customers',
          data: risk.histogram.map((bin) => bin.customers),
          backgroundColor: risk.histogram.map((bin) => riskColor((bin.from + bin.to) / 2)),
          barPercentage: 1,
          categoryPercentage: 0.92,
          borderRadius: 2,
        },
      ],
    },
    options: {
      plugins: { legend: { display: false } },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
        y: { beginAtZero: true, ticks: { callback: ticks.compact } },
      },
    },
  });
  drawChart(byTestId('chart-risk-bands', root), {
    type: 'doughnut',
    data: {
      labels: risk.bands.map((row) => row.band),
      datasets: [
        {
          data: risk.bands.map((row) => row.customers),
          backgroundColor: risk.bands.map((row) => BAND_COLORS[row.band] ?? PALETTE[9]),
          borderWidth: 2,
          borderColor: '#fff',
        },
      ],
    },
    options: {
      cutout: '62%',
      plugins: { tooltip: { callbacks: { label: (item) => `${item.label}: ${fmt.count(item.raw)} customers` } } },
    },
  });

  drawChart(byTestId('chart-predicted-actual', root), {
    type: 'line',
    data: {
      labels: outcome.snapshots.map((row) => row.snapshotDate),
      datasets: [
        {
          label: 'Predicted churn (mean probability)',
          data: outcome.snapshots.map((row) => row.predictedChurnRate),
          borderColor: PALETTE[0],
          backgroundColor: PALETTE[0],
          pointRadius: 3,
          tension: 0.2,
        },
        {
          label: 'Actual churn (observed)',
          data: outcome.snapshots.map((row) => row.actualChurnRate),
          borderColor: PALETTE[4],
          backgroundColor: PALETTE[4],
          pointRadius: 3,
          tension: 0.2,
        },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { grid: { display: false } },
        y: { beginAtZero: true, suggestedMax: 0.5, ticks: { callback: ticks.percent } },
      },
      plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${fmt.percent(item.raw)}` } } },
    },
  });
  drawChart(byTestId('chart-band-calibration', root), {
    type: 'bar',
    data: {
      labels: outcome.bands.map((row) => row.band),
      datasets: [
        {
          label: 'Predicted',
          data: outcome.bands.map((row) => row.predictedChurnRate),
          backgroundColor: alpha(PALETTE[0], 0.85),
        },
        {
          label: 'Observed',
          data: outcome.bands.map((row) => row.actualChurnRate),
          backgroundColor: alpha(PALETTE[4], 0.85),
        },
      ],
    },
    options: {
      scales: { x: { grid: { display: false } }, y: { beginAtZero: true, max: 1, ticks: { callback: ticks.percent } } },
      plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${fmt.percent(item.raw)}` } } },
    },
  });

  const versions = models.versions;
  drawChart(byTestId('chart-model-metrics', root), {
    type: 'line',
    data: {
      labels: versions.map((row) => `${shortLabel(row.version, 16)} · ${fmt.date(row.createdAt)}`),
      datasets: [
        {
          label: 'ROC AUC',
          data: versions.map((row) => row.rocAuc),
          borderColor: PALETTE[0],
          backgroundColor: versions.map((row) => (row.isChampion ? PALETTE[0] : '#fff')),
          pointRadius: versions.map((row) => (row.wasChampion ? 6 : 3)),
          pointBorderWidth: 2,
        },
        {
          label: 'PR AUC',
          data: versions.map((row) => row.prAuc),
          borderColor: PALETTE[2],
          backgroundColor: PALETTE[2],
          pointRadius: 3,
        },
        {
          label: 'Baseline ROC AUC',
          data: versions.map((row) => row.baselineRocAuc),
          borderColor: PALETTE[9],
          borderDash: [5, 4],
          pointRadius: 0,
        },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 6 } },
        y: { suggestedMin: 0.5, suggestedMax: 1 },
      },
    },
  });
  drawChart(byTestId('chart-feature-importance', root), {
    type: 'bar',
    data: {
      labels: features.features.map((row) => row.feature),
      datasets: [
        {
          label: 'Share of gain',
          data: features.features.map((row) => row.share),
          backgroundColor: features.features.map((_, i) => alpha(PALETTE[0], Math.max(0.3, 1 - i * 0.05))),
        },
      ],
    },
    options: {
      indexAxis: 'y',
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => fmt.percent(item.raw) } } },
      scales: {
        x: { beginAtZero: true, ticks: { callback: ticks.percent } },
        y: {
          grid: { display: false },
          ticks: {
            callback(value) {
              return shortLabel(this.getLabelForValue(value), 24);
            },
          },
        },
      },
    },
  });

  fillTable(
    byTestId('table-at-risk', root),
    [
      { key: 'customerId', label: 'Customer', class: 'mono' },
      { key: 'region', label: 'Region' },
      { key: 'segment', label: 'Segment' },
      { key: 'churnProbability', label: 'Churn risk', class: 'num', format: fmt.percent },
      { key: 'riskBand', label: 'Band', cell: (row) => badge(row.riskBand) },
      { key: 'revenueAtRiskUsd', label: 'Revenue 90 d', class: 'num', format: fmt.usdCents },
      {
        key: 'lastOrderDate',
        label: 'Last order',
        class: 'nowrap',
        format: (value) => (value ? fmt.date(value) : 'over 90 d ago'),
      },
    ],
    atRisk.customers,
    'No predictions for this snapshot',
  );
  fillTable(
    byTestId('table-models', root),
    [
      {
        key: 'version',
        label: 'Version',
        class: 'mono',
        cell: (row) =>
          el('span', {}, [
            el('span', { text: row.version }),
            row.isChampion ? el('span', { text: ' ' }) : null,
            row.isChampion ? badge('champion', 'champion') : null,
          ]),
      },
      { key: 'createdAt', label: 'Trained', class: 'nowrap', format: fmt.date },
      { key: 'rocAuc', label: 'ROC AUC', class: 'num', format: (v) => (v === null ? '—' : fmt.decimal3(v)) },
      { key: 'prAuc', label: 'PR AUC', class: 'num', format: (v) => (v === null ? '—' : fmt.decimal3(v)) },
    ],
    versions.slice().reverse(),
    'No model registered yet',
  );
  const signed = (value) => (value === null ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(4)}`);
  fillTable(
    byTestId('table-decisions', root),
    [
      { key: 'decidedAt', label: 'Decided', class: 'nowrap', format: fmt.date },
      { key: 'challengerVersion', label: 'Challenger', class: 'mono' },
      { key: 'championVersion', label: 'Against', class: 'mono', format: (v) => v ?? 'none' },
      {
        key: 'promoted',
        label: 'Outcome',
        cell: (row) => badge(row.promoted ? 'promoted' : 'kept champion', row.promoted ? 'champion' : undefined),
      },
      { key: 'difference', label: 'Δ ROC AUC', class: 'num', format: signed },
      {
        key: 'low',
        label: '95 % interval',
        class: 'num nowrap',
        cell: (row) => el('span', { text: row.low === null ? '—' : `${signed(row.low)} .. ${signed(row.high)}` }),
      },
      { key: 'reason', label: 'Reason' },
    ],
    models.decisions,
    'No decision yet',
  );
}
