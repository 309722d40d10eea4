// Fetch wrapper for the Edmo API: JSON in and out, same-origin cookie session.
import { session } from './ui.js';

export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

let pending = 0;
function busy(delta) {
  pending += delta;
  const el = document.getElementById('busy');
  if (el) el.hidden = pending <= 0;
  document.body.classList.toggle('is-busy', pending > 0);
}

function goToLogin() {
  // The session is gone (expired, revoked, signed out elsewhere): forget the user, or the
  // router would send #/login straight back to the assistants.
  session.user = null;
  const here = location.hash;
  if (!here.startsWith('#/login')) {
    sessionStorage.setItem('edmo.returnTo', here || '#/assistants');
    location.hash = '#/login';
  }
}

function buildUrl(path, query) {
  const url = new URL('/api' + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  return url.pathname + url.search;
}

async function request(path, { method = 'GET', body, query } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  busy(1);
  try {
    let res;
    // A 503 from the API means a per-host cap was full and nothing was done: retry after Retry-After.
    for (let attempt = 0; ; attempt++) {
      try {
        res = await fetch(buildUrl(path, query), init);
      } catch (e) {
        throw new ApiError(0, 'The server cannot be reached. Check your connection.');
      }
      if (res.status !== 503 || attempt >= 3) break;
      const wait = Math.min(5, Number(res.headers.get('Retry-After')) || 1);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (!res.ok) {
      const message = (data && data.error) || `Request failed (${res.status})`;
      const err = new ApiError(res.status, message, res.headers.get('Retry-After'));
      if (res.status === 401 && path !== '/auth/login') goToLogin();
      throw err;
    }
    const total = res.headers.get('X-Total-Count');
    return { data, total: total === null ? null : Number(total) };
  } finally {
    busy(-1);
  }
}

export async function api(path, options) {
  return (await request(path, options)).data;
}

/** A paged list: { items, total } (total from X-Total-Count). */
export async function apiList(path, query) {
  const { data, total } = await request(path, { query });
  return { items: data || [], total: total ?? (data || []).length };
}
