// The gateway's REST API, as the page speaks it: JSON both ways, the session cookie
// (HTTP-only: the page never sees the token) and, with every change, the session's
// CSRF token, which the gateway gives with the login and with GET /api/v1/session.

let csrf = '';
let unauthorized = () => {};

// fn is called when a request is refused for want of a session (401) after a login.
export function onUnauthorized(fn) {
  unauthorized = fn;
  return () => (unauthorized = () => {});
}

export class ApiError extends Error {
  constructor(status, reason) {
    super(reason || `the gateway answered ${status}`);
    this.status = status;
  }
}

// The answer's JSON (null for 204), or throws an ApiError with the gateway's reason.
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') {
    headers['X-CSRF-Token'] = csrf;
    // A retried change is done once: the gateway maps this to the bus's request id.
    headers['Idempotency-Key'] = crypto.randomUUID();
  }
  let response;
  try {
    response = await fetch('/api/v1' + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, 'the gateway cannot be reached: check the network and retry');
  }
  const token = response.headers.get('X-CSRF-Token');
  if (token) csrf = token;
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    if (response.ok) throw new ApiError(502, 'the gateway answered something that is not JSON');
  }
  if (response.status === 401 && path !== '/session') unauthorized();
  if (!response.ok) throw new ApiError(response.status, data && data.reason);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

// Path segments, each encoded on its own (a name may hold characters a URL may not).
export const seg = (...parts) => parts.map((p) => '/' + encodeURIComponent(p)).join('');

// A query string from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) q.set(k, v);
  const text = q.toString();
  return text ? '?' + text : '';
}

// Every item of a paged list (following `next`), up to `max`.
export async function all(path, member, params = {}, max = 10000) {
  const items = [];
  let after = '';
  for (;;) {
    const page = await get(path + query({ ...params, limit: 1000, after }));
    items.push(...(page[member] || []));
    if (!page.next || items.length >= max) return items;
    after = page.next;
  }
}

// A task until it ends: calls progress(task) on each change; returns the last task.
export async function follow(id, progress) {
  for (;;) {
    const task = await get(`/tasks/${id}/wait?timeout_ms=20000`);
    progress(task);
    if (['done', 'failed', 'cancelled'].includes(task.state)) return task;
  }
}
