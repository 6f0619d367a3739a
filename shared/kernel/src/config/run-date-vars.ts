/**
 * The Dataform vars of a run's dates, shared by the compiler (DuckDB) and the Dataform API runner.
 */

/** The run dates a cached graph is compiled with; chosen so no project would write them. */
export const RUN_DATES_SENTINEL = '1234-05-06';
/** The `run_date_first` a cached graph is compiled with. */
export const RUN_DATE_FIRST_SENTINEL = '1234-05-07';
/** The `run_date_last` a cached graph is compiled with. */
export const RUN_DATE_LAST_SENTINEL = '1234-05-08';

/** The run-date vars of a run: the list, its first and its last date. */
export function runDateVars(runDates: readonly string[]): {
  run_dates: string;
  run_date_first: string;
  run_date_last: string;
} {
  const sorted = [...runDates].sort();
  return { run_dates: sorted.join(' '), run_date_first: sorted[0]!, run_date_last: sorted.at(-1)! };
}
