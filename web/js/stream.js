// POST with a JSON body and read the answer as Server-Sent Events as it arrives (fetch and a
// ReadableStream: EventSource can only GET). Errors before the stream starts are the API's JSON answers.
import { api, ApiError } from './api.js';

/** Calls onEvent(name, data) for each event (data parsed as JSON); resolves when the stream ends. */
export async function apiStream(path, body, onEvent) {
  let res;
  // A 503 means a per-host cap (here: concurrent streams) was full and nothing was done: retry after Retry-After.
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch('/api' + path, {
        method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
        headers: { Accept: 'text/event-stream', 'Content-Type': 'application/json' },
      });
    } catch (e) {
      throw new ApiError(0, 'The server cannot be reached. Check your connection.');
    }
    if (res.status !== 503 || attempt >= 3) break;
    const wait = Math.min(5, Number(res.headers.get('Retry-After')) || 1);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  if (!res.ok || !(res.headers.get('Content-Type') || '').startsWith('text/event-stream')) {
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    // Signed out meanwhile: a plain request takes the usual way to the login page (api.js's 401 handling).
    if (res.status === 401) await api('/auth/me').catch(() => {});
    throw new ApiError(res.status, (data && data.error) || `Request failed (${res.status})`, res.headers.get('Retry-After'));
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let name = 'message';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (;;) {
      const end = buffer.search(/[\r\n]/);
      // A CR last in the buffer may be the first half of a CRLF: wait for the next chunk.
      if (end < 0 || (buffer[end] === '\r' && end === buffer.length - 1)) break;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer[end] === '\r' && buffer[end + 1] === '\n' ? 2 : 1));
      if (line === '') {
        if (data.length) onEvent(name, JSON.parse(data.join('\n')));
        name = 'message';
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? '' : line.slice(colon + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (field === 'event') name = v;
        else if (field === 'data') data.push(v);
      }
    }
  }
}
