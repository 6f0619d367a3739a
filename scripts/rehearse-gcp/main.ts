/**
 * `npm run rehearse:gcp -- --from A --to B [--seed N] [--scale X] [--keep]`: the whole gcp chain on
 * local stand-ins (see rehearse.ts). Prints one line per check and per gold table, then
 * `gold tables equal to local mode: yes`; exits 1 when a check fails or a table differs, 2 on a
 * bad argument.
 */
import { parseRehearsalOptions, type RehearsalOptions } from './options.js';
import { comparisonLines } from './compare.js';
import { rehearse, type RehearsalResult } from './rehearse.js';
import { trainerCheck } from './vertex.js';

/** The check lines of a result: `ok`/`FAIL` and what was seen. */
export function checkLines(result: RehearsalResult, options: RehearsalOptions): { ok: boolean; line: string }[] {
  const checks: { ok: boolean; line: string }[] = [];
  const check = (ok: boolean, line: string) => checks.push({ ok, line });
  const { progress } = result;
  const open = progress.runs.flatMap((run) => run.stages).filter((stage) => stage.status === 'running');
  const notRehearsed = open.filter((stage) => result.notRehearsed.includes(stage.stage)).length;
  check(
    !progress.failed && open.length === notRehearsed,
    `gcp run: ${progress.runs.length} run(s), ${progress.done}/${progress.total} stages closed${progress.failed ? ', some failed' : ''}${notRehearsed > 0 ? ` (${notRehearsed} open: ${result.notRehearsed.join(', ')}, not in the gcp chain yet)` : ''}`,
  );
  for (const failure of result.chainFailures)
    check(
      false,
      `gcp run: stage.failed from ${failure.data.stage}: ${failure.data.code} ${failure.data.reason.slice(0, 200)}`,
    );
  check(...trainerCheck(result));
  check(
    result.localFiles.length === 0,
    `gcp processes wrote no DuckDB or SQLite file${result.localFiles.length ? `: ${result.localFiles.join(', ')}` : ''}`,
  );
  if (options.poison) {
    for (const { poison, failures, pushes } of result.poisons) {
      const lander = failures.filter((failure) => failure.data.stage === 'lander');
      const first = lander[0];
      if (poison.kind === 'too-large') {
        const attempts = first?.data.details?.deliveryAttempts;
        check(
          lander.length === 1 && first?.data.code === 'BUS.DELIVERY_EXHAUSTED' && attempts === pushes.lander,
          `poison (400 kB sales.generated, run ${poison.runid}): refused ${pushes.lander} time(s) by the lander, dead-lettered by Pub/Sub; ${lander.length} stage.failed from the lander (${first?.data.code ?? '-'}, ${String(attempts ?? '-')} delivery attempts)`,
        );
      } else {
        check(
          lander.length === 1 && first?.runid === poison.runid,
          `poison (invalid sales.generated, run ${poison.runid}): dead-lettered by the lander's runtime; ${lander.length} stage.failed from the lander (${first?.data.code ?? '-'})`,
        );
      }
      const others = failures.filter((failure) => failure.data.stage !== 'lander');
      if (others.length > 0)
        console.log(
          `     also announced for that run: ${others.map((failure) => `${failure.data.stage} ${failure.data.code}`).join(', ')}`,
        );
    }
  }
  return checks;
}

let options: RehearsalOptions;
try {
  options = parseRehearsalOptions(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
// Ctrl-C or SIGTERM: stop waiting, then stop every process and engine that was started.
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
try {
  const result = await rehearse(options, (line) => console.log(`[rehearse] ${line}`), stop.signal);
  console.log('');
  const checks = checkLines(result, options);
  for (const { ok, line } of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
  for (const line of comparisonLines(result.gold)) console.log(line);
  if (options.keep) console.log(`kept ${result.workDir} (logs/, gcp-home/, local-home/)`);
  process.exit(checks.every((entry) => entry.ok) && result.gold.equal ? 0 : 1);
} catch (error) {
  console.error(`rehearsal failed: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
}
