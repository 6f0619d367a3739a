/* global document, window, location, history, URLSearchParams, requestAnimationFrame */
/**
 * The page: three views chosen by the URL hash (#historical?from=...&to=...), a date-range filter
 * that refetches, and data-ready="true" on <body> once every chart of the view is drawn.
 */
import { cancelPending, getJson } from './api.js';
import { allRendered, resetRendered } from './charts.js';
import { byTestId, fmt } from './dom.js';
import { renderHistorical } from './views/historical.js';
import { renderOperations } from './views/operations.js';
import { renderPredictive } from './views/predictive.js';

const VIEWS = { historical: renderHistorical, predictive: renderPredictive, operations: renderOperations };
const DEFAULT_DAYS = 90;
let meta = null;
let sequence = 0;

function addDays(date, days) {
  const parsed = new Date(`${date}T00:00:00Z`);
  parsed.setUTCDate(parsed.getUTCDate() + days);
  return parsed.toISOString().slice(0, 10);
}

function isDate(value) {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
}

/** The state in the hash, with defaults from the data's extent. */
function readState() {
  const [rawView, query] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query ?? '');
  const view = Object.hasOwn(VIEWS, rawView) ? rawView : 'historical';
  const bounds = meta?.sales ?? { from: null, to: null };
  let from = params.get('from');
  let to = params.get('to');
  if (!params.has('from') && !params.has('to') && bounds.to) {
    to = bounds.to;
    from =
      bounds.from && addDays(bounds.to, -(DEFAULT_DAYS - 1)) < bounds.from
        ? bounds.from
        : addDays(bounds.to, -(DEFAULT_DAYS - 1));
  }
  return {
    view,
    from: isDate(from) ? from : null,
    to: isDate(to) ? to : null,
    snapshot: isDate(params.get('snapshot')) ? params.get('snapshot') : null,
  };
}

function writeState(state) {
  const params = new URLSearchParams();
  if (state.from) params.set('from', state.from);
  if (state.to) params.set('to', state.to);
  if (state.snapshot) params.set('snapshot', state.snapshot);
  const hash = `#${state.view}${params.toString() ? `?${params}` : ''}`;
  if (location.hash === hash) void render();
  else location.hash = hash;
}

function showError(message) {
  const banner = byTestId('error-banner');
  banner.textContent = message;
  banner.hidden = message === null;
}

function waitForCharts(root) {
  return new Promise((resolve) => {
    let frames = 0;
    const check = () => {
      if (allRendered(root) || frames > 120) resolve();
      else {
        frames += 1;
        requestAnimationFrame(check);
      }
    };
    check();
  });
}

async function render() {
  const state = readState();
  const mine = ++sequence;
  cancelPending();
  resetRendered();
  document.body.dataset.ready = 'false';
  document.body.dataset.view = state.view;
  showError(null);
  for (const [name] of Object.entries(VIEWS)) {
    byTestId(`view-${name}`).hidden = name !== state.view;
    byTestId(`tab-${name}`).classList.toggle('active', name === state.view);
  }
  byTestId('filter-from').value = state.from ?? '';
  byTestId('filter-to').value = state.to ?? '';
  markPreset(state);
  const root = byTestId(`view-${state.view}`);
  try {
    await VIEWS[state.view]({
      root,
      meta,
      range: { from: state.from, to: state.to },
      snapshot: state.snapshot,
      navigate: (change) => writeState({ ...state, ...change }),
    });
    if (mine !== sequence) return;
    await waitForCharts(root);
    if (mine !== sequence) return;
    byTestId('refreshed-at').textContent = `Updated ${new Date().toLocaleTimeString('en-GB')}`;
    document.body.dataset.range = `${state.from ?? ''}..${state.to ?? ''}`;
    document.body.dataset.ready = 'true';
  } catch (error) {
    if (mine !== sequence || error?.name === 'AbortError') return;
    showError(`Could not load the ${state.view} view: ${error?.message ?? error}`);
    document.body.dataset.ready = 'error';
  }
}

function markPreset(state) {
  const bounds = meta?.sales ?? {};
  for (const button of document.querySelectorAll('[data-days]')) {
    const days = button.dataset.days;
    const expected =
      days === 'all'
        ? { from: bounds.from ?? null, to: bounds.to ?? null }
        : bounds.to
          ? { from: addDays(bounds.to, -(Number(days) - 1)), to: bounds.to }
          : null;
    button.classList.toggle(
      'active',
      Boolean(expected && bounds.to && expected.from === state.from && expected.to === state.to),
    );
  }
}

function wire() {
  byTestId('date-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    const from = byTestId('filter-from').value || null;
    const to = byTestId('filter-to').value || null;
    if (from && to && from > to) {
      showError(`The date range is backwards: ${from} is after ${to}.`);
      return;
    }
    writeState({ ...readState(), from, to, snapshot: null });
  });
  for (const button of document.querySelectorAll('[data-days]')) {
    button.addEventListener('click', () => {
      const bounds = meta?.sales ?? {};
      if (!bounds.to) return;
      const days = button.dataset.days;
      const from = days === 'all' ? bounds.from : addDays(bounds.to, -(Number(days) - 1));
      writeState({ ...readState(), from, to: bounds.to, snapshot: null });
    });
  }
  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', (event) => {
      event.preventDefault();
      writeState({ ...readState(), view: tab.dataset.view, snapshot: null });
    });
  }
  window.addEventListener('hashchange', () => void render());
}

async function start() {
  wire();
  try {
    meta = await getJson('/api/meta');
    const sales = meta.sales;
    byTestId('data-coverage').textContent = sales.from
      ? `Sales data ${fmt.date(sales.from)} → ${fmt.date(sales.to)} · ${fmt.count(meta.snapshots.count)} prediction snapshots`
      : 'No data in the warehouse yet: run the pipeline (mlops run) to fill it.';
  } catch (error) {
    showError(`Could not reach the dashboard API: ${error?.message ?? error}`);
  }
  if (!location.hash) history.replaceState(null, '', '#historical');
  await render();
}

void start();
