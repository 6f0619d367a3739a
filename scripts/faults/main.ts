/**
 * `npm run test:faults [-- --seed N --days 20 --from 2026-02-01 --scale 0.25 --horizon 2 --keep]`:
 * the fault-injection suite (see suite.ts). Prints the seed and the schedule first (the same seed
 * replays the same schedule), one line per fault class, and last `checksums equal to the clean run:
 * yes|no`; exits 0 only when every line held.
 */
import { runFaultSuite } from './suite.js';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const index = argv.indexOf(name);
  return index >= 0 && argv[index + 1] ? argv[index + 1]! : fallback;
};
const seed = Number(option('--seed', String(Math.floor(Math.random() * 1_000_000))));
const days = Number(option('--days', '20'));
if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a whole number (got ${option('--seed', '')})`);
if (!Number.isInteger(days) || days < 2) throw new Error(`--days must be a whole number of at least 2 (got ${days})`);

console.log(`fault suite, seed ${seed} (replay it with: npm run test:faults -- --seed ${seed} --days ${days})`);
const result = await runFaultSuite({
  seed,
  days,
  from: option('--from', '2026-02-01'),
  settings: {
    MLOPS_SCALE: option('--scale', '0.25'),
    // With 20 days, a 2-day horizon leaves the trainer enough labelled history for a first model.
    MLOPS_CHURN_HORIZON_DAYS: option('--horizon', '2'),
    MLOPS_BUS_LEASE_MS: '3000',
  },
  print: (line) => console.log(line),
  keep: argv.includes('--keep'),
});
const failed = result.verdicts.filter((entry) => !entry.ok).length;
console.log(
  `seed ${seed}: ${failed === 0 && result.equal ? 'every fault class held' : `${failed} fault class(es) failed`}`,
);
process.exit(failed === 0 && result.equal ? 0 : 1);
