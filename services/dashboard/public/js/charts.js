/* global Chart */
/**
 * Chart.js (served from this server, /vendor/chart.umd.min.js) with the dashboard's look. Charts
 * draw on canvas, so labels from data are never HTML. Animations are off: a chart is drawn when
 * it is created, and the page can tell the browser test when every chart of a view is drawn.
 */

export const PALETTE = [
  '#4f46e5',
  '#0ea5e9',
  '#10b981',
  '#f59e0b',
  '#ef4444',
  '#8b5cf6',
  '#14b8a6',
  '#f97316',
  '#ec4899',
  '#64748b',
  '#84cc16',
  '#06b6d4',
];
export const BAND_COLORS = { low: '#10b981', medium: '#f59e0b', high: '#ef4444' };
export const STATUS_COLORS = {
  succeeded: '#10b981',
  failed: '#ef4444',
  running: '#0ea5e9',
  active: '#4f46e5',
  acquired: '#10b981',
  closed: '#94a3b8',
  ipo: '#f59e0b',
};

const charts = new Map();
let rendered = new Set();

Chart.defaults.font.family = "Inter, 'Segoe UI', system-ui, -apple-system, Roboto, 'Helvetica Neue', Arial, sans-serif";
Chart.defaults.font.size = 12;
Chart.defaults.color = '#526077';
Chart.defaults.borderColor = '#e8edf4';
Chart.defaults.animation = false;
Chart.defaults.responsive = true;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.plugins.legend.position = 'bottom';
Chart.defaults.plugins.legend.labels.boxWidth = 10;
Chart.defaults.plugins.legend.labels.boxHeight = 10;
Chart.defaults.plugins.legend.labels.padding = 14;
Chart.defaults.plugins.tooltip.backgroundColor = '#0f172a';
Chart.defaults.plugins.tooltip.padding = 10;
Chart.defaults.plugins.tooltip.cornerRadius = 6;
Chart.defaults.elements.line.borderWidth = 2;
Chart.defaults.elements.point.radius = 0;
Chart.defaults.elements.point.hoverRadius = 4;
Chart.defaults.elements.bar.borderRadius = 3;
Chart.register({
  id: 'renderTracker',
  afterRender(chart) {
    if (chart.canvas && chart.canvas.dataset.chart) {
      rendered.add(chart.canvas.dataset.chart);
      chart.canvas.dataset.rendered = 'true';
    }
  },
});

/** Draw (or redraw) the chart on a canvas. */
export function drawChart(canvas, config) {
  const id = canvas.dataset.chart;
  const previous = charts.get(id);
  if (previous) previous.destroy();
  canvas.dataset.rendered = 'false';
  rendered.delete(id);
  const chart = new Chart(canvas, config);
  charts.set(id, chart);
  return chart;
}

/** Forget which charts were drawn (a new render of a view starts). */
export function resetRendered() {
  rendered = new Set();
}

/** Whether every chart in `root` has been drawn. */
export function allRendered(root) {
  return [...root.querySelectorAll('canvas[data-chart]')].every((canvas) => rendered.has(canvas.dataset.chart));
}

/** A Chart.js color with transparency. */
export function alpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

/** Axis tick formatters. */
export const ticks = {
  usd: (value) =>
    new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency: 'USD',
      notation: 'compact',
      maximumFractionDigits: 1,
    }).format(value),
  compact: (value) => new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(value),
  percent: (value) => `${Math.round(value * 100)}%`,
};

/** Shorten a label for an axis (the tooltip shows it whole). */
export function shortLabel(value, max = 22) {
  const text = String(value ?? '—');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
