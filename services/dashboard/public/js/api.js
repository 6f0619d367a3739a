/* global URLSearchParams */
/** The dashboard's JSON API, with stale requests cancelled when the filter changes. */

let controller = new AbortController();

/** Cancel what is in flight (a new view or date range was chosen). */
export function cancelPending() {
  controller.abort();
  controller = new AbortController();
}

/** An API error, with its stable code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** GET an endpoint with query parameters (null and undefined ones are left out). */
export async function getJson(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== null && value !== undefined && value !== '') query.set(name, String(value));
  const search = query.toString();
  const url = search ? `${path}?${search}` : path;
  const response = await fetch(url, { signal: controller.signal, headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error =
      body && body.error ? body.error : { code: 'HTTP', message: `${response.status} ${response.statusText}` };
    throw new ApiError(response.status, error.code, error.message);
  }
  return body;
}
