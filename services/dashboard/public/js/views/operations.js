/**
 * The operations view: runs and their stages, data quality per transform, dead letters, recent
 * events, model promotions and subscription counts.
 */
import { getJson } from '../api.js';
import { alpha, drawChart, PALETTE, shortLabel, ticks } from '../charts.js';
import { badge, byTestId, el, fillTable, fmt, setFigure } from '../dom.js';

const STAGE_ORDER = ['sales-gen', 'click-gen', 'startup-gen', 'lander', 'transformer', 'trainer'];

/** A stage's tooltip: how it closed, how long it was handled and queued, and a later replay. */
function stageTitle(stage) {
  const parts = [stage.detail ? `${stage.status}: ${stage.detail}` : stage.status];
  if (stage.durationMs !== null) parts.push(`handled in ${fmt.duration(stage.durationMs)}`);
  if (stage.queuedMs !== null && stage.queuedMs !== undefined) parts.push(`queued ${fmt.duration(stage.queuedMs)}`);
  if (stage.latest) parts.push(`replayed: handled in ${fmt.duration(stage.latest.durationMs)}`);
  return parts.join(' · ');
}

function stageChips(run) {
  const box = el('div', { class: 'stages' });
  for (const stage of run.stages) {
    box.append(
      el('span', { class: `stage ${stage.status}`, title: stageTitle(stage) }, [
        el('span', { text: stage.stage }),
        el('span', { class: 'time', text: fmt.duration(stage.durationMs) }),
        stage.queuedMs >= 1000 ? el('span', { class: 'time', text: `+${fmt.duration(stage.queuedMs)} queued` }) : null,
      ]),
    );
  }
  const failed = run.stages.filter((stage) => ['failed', 'blocked'].includes(stage.status) && stage.detail);
  if (failed.length === 0) return box;
  return el('div', {}, [
    box,
    ...failed.map((stage) => el('span', { class: 'detail', text: `${stage.stage}: ${stage.detail}` })),
  ]);
}

function list(items) {
  const ul = el('ul', { class: 'list' });
  for (const item of items) ul.append(el('li', { text: item }));
  return ul;
}

export async function renderOperations({ root, range }) {
  const q = { from: range.from, to: range.to };
  const [kpis, runs, quality, letters, events, promotions, subscriptions] = await Promise.all([
    getJson('/api/kpis', { view: 'operations', ...q }),
    getJson('/api/operations/runs', { ...q, limit: 20 }),
    getJson('/api/operations/quality', { ...q, limit: 20 }),
    getJson('/api/operations/dead-letters', { limit: 50 }),
    getJson('/api/operations/events', { limit: 60 }),
    getJson('/api/operations/promotions', { limit: 20 }),
    getJson('/api/operations/subscriptions'),
  ]);

  const k = kpis.kpis;
  byTestId('operations-range', root).textContent = `run dates ${fmt.date(range.from)} → ${fmt.date(range.to)}`;
  setFigure('kpi-runs', k.runs, fmt.count, root);
  byTestId('kpi-last-run', root).textContent = k.lastRun
    ? `Last: ${k.lastRun.runDate} · ${k.lastRun.status}`
    : 'No runs in range';
  setFigure('kpi-succeeded-runs', k.succeededRuns, fmt.count, root);
  setFigure('kpi-failed-runs', k.failedRuns, fmt.count, root);
  setFigure('kpi-running-runs', k.runningRuns, fmt.count, root);
  setFigure('kpi-dead-letters', k.deadLetters, (v) => `${fmt.count(v)}${k.deadLettersCapped ? '+' : ''}`, root);
  byTestId('kpi-pending', root).textContent = `${fmt.count(k.pendingMessages)} messages pending`;
  setFigure('kpi-promotions', k.promotions, fmt.count, root);

  // Stage durations of the latest runs, oldest on the left.
  const recent = runs.runs.slice(0, 15).reverse();
  const stages = [...new Set(recent.flatMap((run) => run.stages.map((stage) => stage.stage)))].sort((a, b) => {
    const ia = STAGE_ORDER.indexOf(a);
    const ib = STAGE_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  drawChart(byTestId('chart-run-durations', root), {
    type: 'bar',
    data: {
      labels: recent.map((run) => run.runDate),
      datasets: stages.map((name, i) => ({
        label: shortLabel(name, 20),
        data: recent.map((run) => (run.stages.find((stage) => stage.stage === name)?.durationMs ?? 0) / 1000),
        backgroundColor: PALETTE[i % PALETTE.length],
        stack: 'duration',
        borderRadius: 0,
      })),
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: 'seconds' } },
      },
      plugins: {
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${fmt.duration(item.raw * 1000)}` } },
      },
    },
  });

  const reports = quality.reports.slice(0, 15).reverse();
  drawChart(byTestId('chart-quality', root), {
    data: {
      labels: reports.map((report) => report.runDate),
      datasets: [
        {
          type: 'bar',
          label: 'Quarantined rows',
          data: reports.map((report) => report.quarantineRows),
          backgroundColor: alpha(PALETTE[3], 0.85),
          yAxisID: 'rows',
        },
        {
          type: 'line',
          label: 'Failed assertions',
          data: reports.map((report) => report.assertionsFailed),
          borderColor: PALETTE[4],
          backgroundColor: PALETTE[4],
          pointRadius: 3,
          yAxisID: 'failed',
        },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 5 } },
        rows: { position: 'left', beginAtZero: true, ticks: { callback: ticks.compact } },
        failed: {
          position: 'right',
          beginAtZero: true,
          suggestedMax: 3,
          grid: { display: false },
          ticks: { precision: 0 },
        },
      },
    },
  });

  fillTable(
    byTestId('table-runs', root),
    [
      { key: 'runDate', label: 'Run date', class: 'nowrap' },
      { key: 'status', label: 'Status', cell: (run) => badge(run.status) },
      { key: 'trigger', label: 'Trigger' },
      { key: 'startedAt', label: 'Started', class: 'nowrap', format: fmt.dateTime },
      { key: 'durationMs', label: 'Duration', class: 'num', format: fmt.duration },
      { key: 'events', label: 'Events', class: 'num', format: fmt.count },
      { key: 'stages', label: 'Stages', cell: stageChips },
      { key: 'runId', label: 'Run id', class: 'mono' },
    ],
    runs.runs,
    'No runs in this range',
  );

  fillTable(
    byTestId('table-quality', root),
    [
      { key: 'runDate', label: 'Run date', class: 'nowrap' },
      { key: 'quarantineRows', label: 'Quarantined', class: 'num', format: fmt.count },
      {
        key: 'quarantine',
        label: 'By table',
        cell: (report) =>
          list(
            report.quarantine.filter((item) => item.rows > 0).map((item) => `${item.table}: ${fmt.count(item.rows)}`),
          ),
      },
      {
        key: 'assertions',
        label: 'Assertions',
        cell: (report) =>
          el('div', {}, [
            badge(`${report.assertionsPassed} passed`, 'passed'),
            report.assertionsFailed > 0 ? badge(`${report.assertionsFailed} failed`, 'failed') : null,
            list(
              report.assertions
                .filter((item) => !item.passed)
                .map((item) => `${item.name}: ${fmt.count(item.failingRows)} rows`),
            ),
          ]),
      },
      { key: 'durationMs', label: 'Transform', class: 'num', format: fmt.duration },
    ],
    quality.reports,
    'No transforms in this range',
  );

  fillTable(
    byTestId('table-dead-letters', root),
    [
      { key: 'deadAt', label: 'Dead at', class: 'nowrap', format: fmt.dateTime },
      { key: 'subscription', label: 'Subscription' },
      { key: 'code', label: 'Code', class: 'mono' },
      {
        key: 'reason',
        label: 'Reason',
        class: 'wide',
        cell: (letter) => el('span', { class: 'reason', text: letter.reason }),
      },
      { key: 'attempts', label: 'Attempts', class: 'num', format: fmt.count },
    ],
    letters.deadLetters,
    'No dead letters',
  );

  fillTable(
    byTestId('table-events', root),
    [
      { key: 'time', label: 'Time', class: 'nowrap', format: fmt.dateTime },
      { key: 'type', label: 'Event', class: 'mono', format: (value) => String(value).replace(/^mlops\./, '') },
      { key: 'stage', label: 'From' },
      { key: 'runDate', label: 'Run date', class: 'nowrap' },
      { key: 'subject', label: 'Subject' },
    ],
    events.events,
    'No events yet',
  );

  fillTable(
    byTestId('table-promotions', root),
    [
      { key: 'promotedAt', label: 'Promoted', class: 'nowrap', format: fmt.dateTime },
      { key: 'version', label: 'Champion', class: 'mono' },
      { key: 'challengerRocAuc', label: 'AUC', class: 'num', format: (v) => (v === null ? '—' : fmt.decimal3(v)) },
      { key: 'reason', label: 'Reason', class: 'wide' },
    ],
    promotions.promotions,
    'No promotions yet',
  );

  fillTable(
    byTestId('table-subscriptions', root),
    [
      { key: 'subscription', label: 'Subscription', class: 'mono' },
      { key: 'pending', label: 'Pending', class: 'num', format: fmt.count },
      { key: 'inFlight', label: 'In flight', class: 'num', format: fmt.count },
      { key: 'acked', label: 'Acked', class: 'num', format: fmt.count },
      { key: 'dead', label: 'Dead', class: 'num', format: fmt.count },
    ],
    subscriptions.subscriptions,
    'No subscriptions',
  );
}
