/**
 * The historical view: sales, traffic and startups in the selected date range.
 */
import { getJson } from '../api.js';
import { alpha, drawChart, PALETTE, shortLabel, STATUS_COLORS, ticks } from '../charts.js';
import { byTestId, el, fillTable, fmt, setFigure } from '../dom.js';

function weekOf(date) {
  const parsed = new Date(`${date}T00:00:00Z`);
  const offset = (parsed.getUTCDay() + 6) % 7;
  parsed.setUTCDate(parsed.getUTCDate() - offset);
  return parsed.toISOString().slice(0, 10);
}

function spanDays(series) {
  if (series.length === 0) return 0;
  const first = Date.parse(series[0].date);
  const last = Date.parse(series[series.length - 1].date);
  return (last - first) / 86_400_000 + 1;
}

export async function renderHistorical({ root, range }) {
  const q = { from: range.from, to: range.to };
  const [kpis, daily, byRegion, byCategory, customers, products, funnel, traffic, startups] = await Promise.all([
    getJson('/api/kpis', { view: 'historical', ...q }),
    getJson('/api/historical/revenue', { ...q, groupBy: 'day' }),
    getJson('/api/historical/revenue', { ...q, groupBy: 'region' }),
    getJson('/api/historical/revenue', { ...q, groupBy: 'category' }),
    getJson('/api/historical/top-customers', { ...q, limit: 10 }),
    getJson('/api/historical/top-products', { ...q, limit: 10 }),
    getJson('/api/historical/funnel', q),
    getJson('/api/historical/traffic', q),
    getJson('/api/historical/startups', { limit: 12 }),
  ]);

  const k = kpis.kpis;
  byTestId('historical-range', root).textContent = `${fmt.date(range.from)} → ${fmt.date(range.to)}`;
  setFigure('kpi-total-revenue', k.revenueUsd, fmt.usd, root);
  setFigure('kpi-orders', k.orders, fmt.count, root);
  byTestId('kpi-completed-orders', root).textContent = `${fmt.count(k.completedOrders)} completed`;
  setFigure('kpi-customers', k.customers, fmt.count, root);
  setFigure('kpi-aov', k.averageOrderValueUsd, fmt.usdCents, root);
  setFigure('kpi-sessions', k.sessions, fmt.count, root);
  setFigure('kpi-conversion', k.conversionRate, fmt.percent, root);

  // Revenue (line) and orders (bars) per day.
  drawChart(byTestId('chart-revenue-daily', root), {
    data: {
      labels: daily.series.map((row) => row.date),
      datasets: [
        {
          type: 'line',
          label: 'Net revenue',
          data: daily.series.map((row) => row.revenueUsd),
          borderColor: PALETTE[0],
          backgroundColor: alpha(PALETTE[0], 0.08),
          fill: true,
          tension: 0.25,
          yAxisID: 'revenue',
        },
        {
          type: 'bar',
          label: 'Orders',
          data: daily.series.map((row) => row.orders),
          backgroundColor: alpha(PALETTE[1], 0.28),
          yAxisID: 'orders',
          barPercentage: 1,
          categoryPercentage: 0.9,
        },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { maxTicksLimit: 10, maxRotation: 0 } },
        revenue: { position: 'left', beginAtZero: true, ticks: { callback: ticks.usd } },
        orders: { position: 'right', beginAtZero: true, grid: { display: false }, ticks: { callback: ticks.compact } },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (item) =>
              item.dataset.yAxisID === 'revenue'
                ? `Net revenue: ${fmt.usd(item.raw)}`
                : `Orders: ${fmt.count(item.raw)}`,
          },
        },
      },
    },
  });

  // Revenue by category (totals).
  const categories = byCategory.totals;
  drawChart(byTestId('chart-revenue-category', root), {
    type: 'bar',
    data: {
      labels: categories.map((row) => row.group ?? 'unknown'),
      datasets: [
        {
          label: 'Net revenue',
          data: categories.map((row) => row.revenueUsd),
          backgroundColor: categories.map((_, i) => PALETTE[i % PALETTE.length]),
        },
      ],
    },
    options: {
      indexAxis: 'y',
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => fmt.usd(item.raw) } } },
      scales: {
        x: { beginAtZero: true, ticks: { callback: ticks.usd, maxRotation: 0, maxTicksLimit: 5 } },
        y: {
          grid: { display: false },
          ticks: {
            autoSkip: false,
            callback(value) {
              return shortLabel(this.getLabelForValue(value), 18);
            },
          },
        },
      },
    },
  });

  // Revenue by region, weekly when the range is long.
  const weekly = spanDays(daily.series) > 120;
  const bucketOf = (date) => (weekly ? weekOf(date) : date);
  const buckets = [...new Set(byRegion.series.map((row) => bucketOf(row.date)))].sort();
  const regions = byRegion.totals.map((row) => row.group);
  const sums = new Map();
  for (const row of byRegion.series) {
    const key = `${bucketOf(row.date)}\u0000${row.group}`;
    sums.set(key, (sums.get(key) ?? 0) + row.revenueUsd);
  }
  byTestId('chart-revenue-region', root)
    .closest('.card')
    .querySelector('header p').textContent = `${weekly ? 'Weekly' : 'Daily'} net revenue per customer region`;
  drawChart(byTestId('chart-revenue-region', root), {
    type: 'bar',
    data: {
      labels: buckets,
      datasets: regions.map((region, i) => ({
        label: shortLabel(region ?? 'unknown', 24),
        data: buckets.map((bucket) => sums.get(`${bucket}\u0000${region}`) ?? 0),
        backgroundColor: PALETTE[i % PALETTE.length],
        stack: 'revenue',
        borderRadius: 0,
      })),
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { maxTicksLimit: 12, maxRotation: 0 } },
        y: { stacked: true, beginAtZero: true, ticks: { callback: ticks.usd } },
      },
      plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${fmt.usd(item.raw)}` } } },
    },
  });

  // Funnel.
  drawChart(byTestId('chart-funnel', root), {
    type: 'bar',
    data: {
      labels: funnel.steps.map((step) => step.label),
      datasets: [
        {
          label: 'Sessions',
          data: funnel.steps.map((step) => step.sessions),
          backgroundColor: funnel.steps.map((_, i) => alpha(PALETTE[0], 1 - i * 0.16)),
        },
      ],
    },
    options: {
      indexAxis: 'y',
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              const step = funnel.steps[item.dataIndex];
              return `${fmt.count(step.sessions)} sessions · ${step.rateFromStart === null ? '—' : fmt.percent(step.rateFromStart)} of all`;
            },
          },
        },
      },
      scales: { x: { beginAtZero: true, ticks: { callback: ticks.compact } }, y: { grid: { display: false } } },
    },
  });

  // Traffic.
  drawChart(byTestId('chart-traffic-daily', root), {
    type: 'line',
    data: {
      labels: traffic.daily.map((row) => row.date),
      datasets: [
        {
          label: 'Sessions',
          data: traffic.daily.map((row) => row.sessions),
          borderColor: PALETTE[1],
          backgroundColor: alpha(PALETTE[1], 0.1),
          fill: true,
          tension: 0.25,
        },
        {
          label: 'With purchase',
          data: traffic.daily.map((row) => row.purchases),
          borderColor: PALETTE[2],
          tension: 0.25,
        },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { maxTicksLimit: 8, maxRotation: 0 } },
        y: { beginAtZero: true, ticks: { callback: ticks.compact } },
      },
    },
  });
  drawChart(byTestId('chart-traffic-device', root), {
    type: 'doughnut',
    data: {
      labels: traffic.byDevice.map((row) => shortLabel(row.device ?? 'unknown', 16)),
      datasets: [
        {
          data: traffic.byDevice.map((row) => row.sessions),
          backgroundColor: PALETTE,
          borderWidth: 2,
          borderColor: '#fff',
        },
      ],
    },
    options: { cutout: '62%', plugins: { legend: { position: 'bottom' } } },
  });
  const referrers = traffic.byReferrer.slice(0, 8);
  drawChart(byTestId('chart-traffic-referrer', root), {
    type: 'bar',
    data: {
      labels: referrers.map((row) => row.referrer ?? 'unknown'),
      datasets: [
        { label: 'Sessions', data: referrers.map((row) => row.sessions), backgroundColor: alpha(PALETTE[5], 0.85) },
      ],
    },
    options: {
      indexAxis: 'y',
      plugins: { legend: { display: false } },
      scales: {
        x: { beginAtZero: true, ticks: { callback: ticks.compact } },
        y: {
          grid: { display: false },
          ticks: {
            autoSkip: false,
            callback(value) {
              return shortLabel(this.getLabelForValue(value), 14);
            },
          },
        },
      },
    },
  });

  fillTable(
    byTestId('table-top-customers', root),
    [
      { key: 'customerId', label: 'Customer', class: 'mono' },
      { key: 'region', label: 'Region' },
      { key: 'segment', label: 'Segment' },
      { key: 'orders', label: 'Orders', class: 'num', format: fmt.count },
      { key: 'revenueUsd', label: 'Net revenue', class: 'num', format: fmt.usdCents },
      { key: 'lastOrderDate', label: 'Last order', class: 'nowrap', format: fmt.date },
    ],
    customers.customers,
  );
  fillTable(
    byTestId('table-top-products', root),
    [
      { key: 'productName', label: 'Product' },
      { key: 'category', label: 'Category' },
      { key: 'units', label: 'Units', class: 'num', format: fmt.count },
      { key: 'orders', label: 'Orders', class: 'num', format: fmt.count },
      { key: 'revenueUsd', label: 'Net revenue', class: 'num', format: fmt.usdCents },
    ],
    products.products,
  );

  // Startups.
  byTestId('startup-count', root).textContent =
    `${fmt.count(startups.companies)} companies · ${fmt.usdCompact(startups.totalFundingUsd)} raised`;
  const sectors = startups.bySector.slice(0, 12);
  drawChart(byTestId('chart-startup-sector', root), {
    type: 'bar',
    data: {
      labels: sectors.map((row) => row.sector ?? 'unknown'),
      datasets: [
        { label: 'Funding', data: sectors.map((row) => row.totalFundingUsd), backgroundColor: alpha(PALETTE[0], 0.85) },
      ],
    },
    options: {
      indexAxis: 'y',
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) =>
              `Funding: ${fmt.usd(item.raw)} · ${fmt.count(sectors[item.dataIndex].companies)} companies`,
          },
        },
      },
      scales: {
        x: { beginAtZero: true, ticks: { callback: ticks.usd, maxRotation: 0 } },
        y: {
          grid: { display: false },
          ticks: {
            autoSkip: false,
            callback(value) {
              return shortLabel(this.getLabelForValue(value), 18);
            },
          },
        },
      },
    },
  });
  drawChart(byTestId('chart-startup-status', root), {
    type: 'doughnut',
    data: {
      labels: startups.byStatus.map((row) => shortLabel(row.status ?? 'unknown', 16)),
      datasets: [
        {
          data: startups.byStatus.map((row) => row.companies),
          backgroundColor: startups.byStatus.map((row, i) => STATUS_COLORS[row.status] ?? PALETTE[i % PALETTE.length]),
          borderWidth: 2,
          borderColor: '#fff',
        },
      ],
    },
    options: { cutout: '62%' },
  });
  drawChart(byTestId('chart-startup-round', root), {
    type: 'bar',
    data: {
      labels: startups.byRound.map((row) => (row.round ?? 'unknown').replace(/_/g, ' ')),
      datasets: [
        {
          label: 'Companies',
          data: startups.byRound.map((row) => row.companies),
          backgroundColor: alpha(PALETTE[6], 0.85),
        },
      ],
    },
    options: {
      plugins: { legend: { display: false } },
      scales: {
        x: {
          grid: { display: false },
          ticks: {
            maxRotation: 45,
            callback(value) {
              return shortLabel(this.getLabelForValue(value), 12);
            },
          },
        },
        y: { beginAtZero: true, ticks: { callback: ticks.compact } },
      },
    },
  });
  fillTable(
    byTestId('table-startups', root),
    [
      { key: 'name', label: 'Company' },
      { key: 'sector', label: 'Sector' },
      { key: 'city', label: 'City' },
      { key: 'country', label: 'Country' },
      {
        key: 'status',
        label: 'Status',
        cell: (row) =>
          el('span', {
            class: `badge badge-${row.status === 'closed' ? 'failed' : row.status === 'active' ? 'succeeded' : 'running'}`,
            text: fmt.text(row.status),
          }),
      },
      { key: 'lastRound', label: 'Last round', format: (value) => fmt.text(value).replace(/_/g, ' ') },
      {
        key: 'headcount',
        label: 'Headcount',
        class: 'num',
        format: (value) => (value === null ? '—' : fmt.count(value)),
      },
      { key: 'totalFundingUsd', label: 'Total funding', class: 'num', format: fmt.usd },
    ],
    startups.top,
  );
}
