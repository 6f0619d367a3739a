import { PlatformError } from '@mlops/kernel';

/** HTTP status each error code answers with. */
const STATUS: Record<string, number> = {
  'DASHBOARD.BAD_PARAMETER': 400,
  'DASHBOARD.UNKNOWN_PARAMETER': 400,
  'DASHBOARD.MISSING_PARAMETER': 400,
  'DASHBOARD.BAD_DATE': 400,
  'DASHBOARD.RANGE_BACKWARDS': 400,
  'DASHBOARD.LIMIT_TOO_LARGE': 400,
  'DASHBOARD.UNKNOWN_VIEW': 400,
  'DASHBOARD.NOT_FOUND': 404,
  'DASHBOARD.WAREHOUSE_UNAVAILABLE': 503,
  'DASHBOARD.WAREHOUSE_MISSING': 503,
  'DASHBOARD.QUERY_FAILED': 500,
  'DASHBOARD.INTERNAL': 500,
};

/** An error of the dashboard, with a stable code and the HTTP status it answers with. */
export class DashboardError extends PlatformError {
  get statusCode(): number {
    return STATUS[this.code] ?? 500;
  }
}

/** The catalogue of dashboard errors: stable codes, messages a user can act on. */
export const DashboardErrors = {
  badParameter: (name: string, problem: string) =>
    new DashboardError('DASHBOARD.BAD_PARAMETER', `query parameter "${name}" ${problem}`, {
      details: { parameter: name },
    }),
  unknownParameter: (name: string, allowed: readonly string[]) =>
    new DashboardError(
      'DASHBOARD.UNKNOWN_PARAMETER',
      `unknown query parameter "${name}"; this endpoint accepts ${allowed.length ? allowed.join(', ') : 'no parameters'}`,
      { details: { parameter: name } },
    ),
  missingParameter: (name: string, hint: string) =>
    new DashboardError('DASHBOARD.MISSING_PARAMETER', `query parameter "${name}" is required (${hint})`, {
      details: { parameter: name },
    }),
  badDate: (name: string, value: string) =>
    new DashboardError(
      'DASHBOARD.BAD_DATE',
      `query parameter "${name}" must be a calendar date YYYY-MM-DD (got "${value.slice(0, 40)}")`,
      { details: { parameter: name } },
    ),
  rangeBackwards: (from: string, to: string) =>
    new DashboardError('DASHBOARD.RANGE_BACKWARDS', `the date range is backwards: from (${from}) is after to (${to})`, {
      details: { from, to },
    }),
  limitTooLarge: (name: string, value: number, max: number) =>
    new DashboardError('DASHBOARD.LIMIT_TOO_LARGE', `query parameter "${name}" is ${value}; the maximum is ${max}`, {
      details: { parameter: name, max },
    }),
  unknownView: (view: string, views: readonly string[]) =>
    new DashboardError(
      'DASHBOARD.UNKNOWN_VIEW',
      `unknown view "${view.slice(0, 40)}"; the views are ${views.join(', ')}`,
      { details: { views } },
    ),
  notFound: (method: string, path: string) =>
    new DashboardError('DASHBOARD.NOT_FOUND', `no such endpoint: ${method} ${path.slice(0, 200)}`),
  warehouseUnavailable: (cause: unknown) =>
    new DashboardError(
      'DASHBOARD.WAREHOUSE_UNAVAILABLE',
      'the warehouse is being written by the pipeline right now; try again shortly',
      { cause },
    ),
  warehouseMissing: (cause?: unknown) =>
    new DashboardError(
      'DASHBOARD.WAREHOUSE_MISSING',
      'the warehouse does not exist yet: run the pipeline (mlops run) to build it',
      { cause },
    ),
  queryFailed: (what: string, cause: unknown) =>
    new DashboardError('DASHBOARD.QUERY_FAILED', `the ${what} query failed; see the server log`, { cause }),
  internal: () => new DashboardError('DASHBOARD.INTERNAL', 'unexpected server error; see the server log'),
} as const;

/** Errors raised before the server answers anything (binding, wiring). */
export const DashboardStartErrors = {
  remoteBindRefused: (host: string) =>
    new PlatformError(
      'DASHBOARD.REMOTE_BIND_REFUSED',
      `refusing to listen on ${host}: it is not a loopback address and the dashboard has no authentication. ` +
        'Bind to 127.0.0.1 (the default), or set MLOPS_DASHBOARD_ALLOW_REMOTE=true to expose it on purpose.',
      { details: { host } },
    ),
  hostUnresolvable: (host: string, cause: unknown) =>
    new PlatformError(
      'DASHBOARD.HOST_UNRESOLVABLE',
      `cannot resolve the dashboard host "${host}" (MLOPS_DASHBOARD_HOST)`,
      { cause, details: { host } },
    ),
} as const;
