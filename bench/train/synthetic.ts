import { createRandom } from '@mlops/gbdt';
import type { MatrixFile } from './matrix.js';

/**
 * A synthetic churn-like feature matrix: skewed RFM features, engagement counts and trends,
 * discrete codes, noisy copies and pure noise, with a label drawn from a non-linear log-odds
 * (thresholds, saturations, a periodic term and interactions), so trees have something to find
 * that a linear model cannot. Deterministic for a given seed.
 */
export function generateSyntheticMatrix(
  nRows: number,
  options: { seed?: number; holdoutFraction?: number } = {},
): MatrixFile {
  const random = createRandom(options.seed ?? 42);
  const holdout = options.holdoutFraction ?? 0.2;
  const u = (): number => random.nextFloat();
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const poisson = (mean: number): number => {
    let k = 0;
    for (let p = Math.exp(-mean), s = u(); s > p && k < 100; k++) s *= u();
    return k;
  };
  const featureNames = [
    'recency_days',
    'orders_90d',
    'revenue_90d_usd',
    'avg_order_value_usd',
    'tenure_days',
    'sessions_7d',
    'sessions_30d',
    'session_trend',
    'cart_abandon_rate',
    'support_tickets_90d',
    'discount_share',
    'email_open_rate',
    'is_mobile',
    'region_code',
    'return_rate',
    'avg_session_minutes',
    'pages_per_session',
    'promo_clicks_30d',
    'review_score_avg',
    'payment_failures_90d',
    'recency_days_noisy',
    'revenue_rank',
    'noise_normal_1',
    'noise_normal_2',
    'noise_uniform_1',
    'noise_uniform_2',
    'noise_count',
    'noise_binary',
    'noise_lognormal',
    'noise_code',
  ];
  const nFeatures = featureNames.length;
  const values = new Float32Array(nRows * nFeatures);
  const labels = new Uint8Array(nRows);
  const split = new Uint8Array(nRows);
  for (let r = 0; r < nRows; r++) {
    const recency = Math.min(365, -Math.log(1 - u()) * 25);
    const orders = poisson(3 + 4 * Math.exp(-recency / 30));
    const revenue = orders === 0 ? 0 : Math.exp(3.5 + 0.8 * normal()) * orders;
    const tenure = Math.floor(u() * 1500);
    const sessions7 = poisson(2.5 * Math.exp(-recency / 60));
    const sessions30 = sessions7 + poisson(7);
    const trend = (4 * sessions7 - sessions30) / (sessions30 + 1);
    const abandon = u() ** 2;
    const tickets = poisson(0.5);
    const discount = u();
    const openRate = u() ** 0.5;
    const mobile = u() < 0.6 ? 1 : 0;
    const region = Math.floor(u() * 10);
    const returns = u() ** 3;
    const minutes = Math.exp(1.5 + 0.6 * normal());
    const pages = 1 + poisson(4);
    const promo = poisson(1.5);
    const review = 1 + Math.floor(u() * 5);
    const failures = u() < 0.08 ? 1 + poisson(0.5) : 0;
    const row = [
      recency,
      orders,
      revenue,
      orders === 0 ? 0 : revenue / orders,
      tenure,
      sessions7,
      sessions30,
      trend,
      abandon,
      tickets,
      discount,
      openRate,
      mobile,
      region,
      returns,
      minutes,
      pages,
      promo,
      review,
      failures,
      recency + 10 * normal(),
      Math.floor(u() * 100),
      normal(),
      normal(),
      u(),
      u(),
      poisson(2),
      u() < 0.3 ? 1 : 0,
      Math.exp(normal()),
      Math.floor(u() * 20),
    ];
    const logit =
      -1.4 +
      1.3 * Math.tanh((recency - 30) / 15) -
      0.45 * Math.log1p(orders) +
      (trend < -0.3 ? 0.8 : 0) +
      (tenure < 120 && sessions7 === 0 ? 0.9 : 0) +
      0.35 * Math.min(tickets, 3) +
      (failures > 0 ? 0.9 : 0) -
      (review >= 4 ? 0.4 : 0) +
      0.5 * Math.sin(discount * 6) +
      (region === 2 || region === 7 ? 0.3 : 0) +
      0.8 * mobile * (abandon - 0.3) +
      0.6 * (openRate < 0.3 ? 1 : -0.2) * (promo > 2 ? 1 : 0) +
      0.3 * normal();
    for (let f = 0; f < nFeatures; f++) values[r * nFeatures + f] = row[f]!;
    labels[r] = u() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    split[r] = u() < holdout ? 1 : 0;
  }
  return { featureNames, nRows, nFeatures, values, labels, split };
}
