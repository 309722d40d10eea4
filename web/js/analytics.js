// Analytics: a window of dates and filters (kept in the hash query), the trend chart, the summary, the
// searchable conversation list with its CSV download; and a conversation's detail.
import { api, apiList } from './api.js';
import { h, field, loadingRow, emptyState, fmtDate, isCurrent, showFormError, clearFormErrors, messageBox, reload } from './ui.js';
import { trendFigure } from './trend.js';

const PAGE = 25;
const DEFAULT_DAYS = 30;
const SELECTS = {
  channel: [['all', 'All channels'], ['web', 'Web'], ['phone', 'Phone']],
  sentiment: [['all', 'All sentiments'], ['positive', 'Positive'], ['neutral', 'Neutral'], ['negative', 'Negative']],
  resolution: [['all', 'All resolutions'], ['resolved', 'Resolved'], ['escalated', 'Escalated'], ['failed', 'Failed']],
};
const LABELS = { channel: 'Channel', sentiment: 'Sentiment', resolution: 'Resolution', assistantId: 'Assistant', phoneNumberId: 'Phone number' };
// What the URL may hold, in the order it is written.
const KEYS = ['from', 'to', 'q', 'channel', 'sentiment', 'resolution', 'assistantId', 'phoneNumberId'];
const ISO = /^\d{4}-\d{2}-\d{2}$/;
let charts = [];

const pad = (n) => String(n).padStart(2, '0');
/** Today in the browser's zone, which is the `tz` the page sends. */
function today() {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
function addDays(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** The page's filters from the hash query: a window of dates (the last 30 days unless the URL says otherwise; an
 *  older link's timeRangeDays still works), the search and the select filters. */
function currentFilters(query) {
  const f = {};
  for (const k of KEYS) {
    const v = (query.get(k) || '').trim();
    if (v && v !== 'all') f[k] = v;
  }
  if (!ISO.test(f.to || '')) f.to = today();
  if (!ISO.test(f.from || '')) {
    const days = Number(query.get('timeRangeDays')) || DEFAULT_DAYS;
    f.from = addDays(f.to, 1 - Math.min(3660, Math.max(1, days)));
  }
  return f;
}

function toHash(filters, cursor) {
  const q = new URLSearchParams();
  for (const k of KEYS) if (filters[k] && filters[k] !== 'all') q.set(k, filters[k]);
  if (cursor) q.set('cursor', cursor);
  return `#/analytics?${q}`;
}

/** A step that keeps the chart readable: days up to four months, then weeks up to three years, then months. */
function stepFor(from, to) {
  const days = (new Date(`${to}T00:00:00Z`) - new Date(`${from}T00:00:00Z`)) / 86400000 + 1;
  return days <= 124 ? 'day' : days <= 1100 ? 'week' : 'month';
}

const halvesUp = (a, b) => (b ? Math.floor((2 * a + b) / (2 * b)) : 0);
const sum = (points, k) => points.reduce((n, p) => n + p[k], 0);

function filterForm(filters, assistants, numbers) {
  const form = h('form.filters', { id: 'analytics-filters', 'aria-label': 'Filters', novalidate: true });
  form.append(
    field('From', 'input', { type: 'date', name: 'from', id: 'filter-from', 'data-field': 'from', value: filters.from, required: true }),
    field('To', 'input', { type: 'date', name: 'to', id: 'filter-to', 'data-field': 'to', value: filters.to, required: true }),
    field('Search summaries', 'input', { type: 'search', name: 'q', id: 'filter-q', 'data-field': 'q', value: filters.q || '', maxlength: 200, placeholder: 'e.g. tuition' }));
  const opts = {
    ...SELECTS,
    assistantId: [['', 'All assistants'], ...assistants.map((a) => [a.id, a.name || a.id])],
    phoneNumberId: [['', 'All numbers'], ...numbers.map((p) => [p.id, p.name ? `${p.name} (${p.number})` : p.number])],
  };
  for (const [k, o] of Object.entries(opts)) {
    form.append(field(LABELS[k], 'select', { name: k, id: `filter-${k}`, 'data-field': k, value: filters[k] ?? (k in SELECTS ? 'all' : '') }, o));
  }
  form.append(h('div.actions', h('button', { type: 'submit', id: 'apply-filters' }, 'Apply'),
    h('button.secondary', { type: 'button', id: 'reset-filters', onclick: () => (location.hash === '#/analytics' ? reload() : (location.hash = '#/analytics')) }, 'Reset')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    const next = {};
    for (const c of form.querySelectorAll('input, select')) next[c.name] = c.value.trim();
    // Said next to the field, in words (showFormError finds the field by the API's "field: NAME").
    const refuse = (name, text) => {
      showFormError(form, { message: `field: ${name}` });
      form.querySelector(`#filter-${name}-error`).textContent = text;
    };
    for (const k of ['from', 'to']) if (!ISO.test(next[k])) return refuse(k, 'Enter a complete date.');
    if (next.from > next.to) return refuse('to', 'The end date is before the start date.');
    location.hash = toHash(next);
  });
  return form;
}

function summary(points, gaps) {
  const total = sum(points, 'conversations');
  const stat = (label, value, id) => h('div.stat', { 'data-stat': id }, h('span.stat-value', String(value)), h('span.stat-label', label));
  return h('section.stats', { id: 'analytics-summary', 'aria-label': 'Summary' },
    stat('Conversations', total, 'total'),
    stat('Success rate', `${halvesUp(100 * sum(points, 'successful'), total)}%`, 'success'),
    stat('Escalation rate', `${halvesUp(100 * sum(points, 'escalated'), total)}%`, 'escalation'),
    stat('Failed', sum(points, 'failed'), 'failed'),
    stat('Avg. duration', `${halvesUp(sum(points, 'totalDurationSeconds'), total)} s`, 'duration'),
    stat('Knowledge gaps', `${gaps?.totalGaps ?? 0} (${gaps?.highPriorityGaps ?? 0} high)`, 'gaps'));
}

/** Bar charts of the window's totals per channel and per sentiment (Chart.js, from Debian's libjs-chart.js). */
function breakdowns(box, byChannel, bySentiment) {
  if (!window.Chart) return;
  const totals = (answer) => Object.fromEntries(answer.series.map((s) => [s.key, sum(s.points, 'conversations')]));
  const bar = (title, labels, values, colors) => {
    const canvas = h('canvas', { role: 'img', 'aria-label': `${title}: ${labels.map((l, i) => `${l} ${values[i]}`).join(', ')}` });
    box.append(h('figure.card.chart', h('figcaption', title), h('div.chart-box', canvas)));
    charts.push(new window.Chart(canvas, {
      type: 'bar',
      data: { labels, datasets: [{ label: title, data: values, backgroundColor: colors }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    }));
  };
  const c = totals(byChannel), s = totals(bySentiment);
  bar('Conversations by channel', ['Web', 'Phone'], [c.web ?? 0, c.phone ?? 0], ['#3558d4', '#16a34a']);
  bar('Conversations by sentiment', ['Positive', 'Neutral', 'Negative'], [s.positive ?? 0, s.neutral ?? 0, s.negative ?? 0], ['#16a34a', '#64748b', '#dc2626']);
}

function conversationList(page, filters, cursor) {
  const csv = new URLSearchParams();
  for (const k of KEYS) if (filters[k]) csv.set(k, filters[k]);
  csv.set('tz', browserZone());
  const section = h('section', { id: 'conversations', 'aria-labelledby': 'conv-title' },
    h('div.toolbar', h('h2#conv-title', filters.q ? `Conversations whose summary contains “${filters.q}”` : 'Conversations'),
      h('a.button.secondary', { id: 'download-csv', href: `/api/analytics/conversations.csv?${csv}`, download: 'conversations.csv' }, 'Download CSV')));
  const convs = page.conversations || [];
  if (!convs.length) {
    section.append(emptyState(cursor ? 'No older conversations.' : 'No conversations match these filters.'));
  } else {
    const back = encodeURIComponent(location.hash);
    section.append(h('table.data.clickable', { id: 'conversation-table' },
      h('thead', h('tr', ['When', 'Channel', 'Duration', 'Sentiment', 'Resolution', 'Summary'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', convs.map((c) => {
        const href = `#/analytics/conversations/${encodeURIComponent(c.id)}?back=${back}`;
        const tr = h('tr', { 'data-id': c.id },
          h('td', h('a', { href }, c.timestampFormatted || fmtDate(c.timestamp))),
          h('td', c.channel), h('td', c.durationFormatted || `${c.durationSeconds} s`),
          h('td', c.sentiment || ''), h('td', c.resolution || ''), h('td.wrap', c.analysis?.summary || ''));
        tr.addEventListener('click', (ev) => { if (ev.target.tagName !== 'A') location.hash = href; });
        return tr;
      }))));
  }
  // Keyset pages: forward by the answer's cursor, back with the browser or to the newest page.
  const nav = h('nav.pager', { 'aria-label': 'Conversation pages' });
  if (cursor) nav.append(h('a', { href: toHash(filters), id: 'newest-page' }, 'Newest conversations'));
  if (page.nextCursor) nav.append(h('a', { href: toHash(filters, page.nextCursor), id: 'older-page' }, 'Older conversations'));
  if (nav.childElementCount) section.append(nav);
  return section;
}

export async function renderDashboard(view, params, query, seq) {
  charts.forEach((c) => c.destroy());
  charts = [];
  const filters = currentFilters(query);
  const cursor = query.get('cursor') || undefined;
  const msg = messageBox();
  const body = h('div', { id: 'analytics-body' }, loadingRow());
  view.append(h('h1', 'Analytics'), msg, body);

  const scope = { from: filters.from, to: filters.to, tz: browserZone() };
  for (const k of ['channel', 'sentiment', 'resolution', 'assistantId', 'phoneNumberId']) if (filters[k]) scope[k] = filters[k];
  const step = stepFor(filters.from, filters.to);
  const lists = Promise.all([
    apiList('/assistants', { limit: 1000 }).catch(() => ({ items: [] })),
    apiList('/phone-numbers', { limit: 1000 }).catch(() => ({ items: [] })),
  ]);
  const data = Promise.all([
    api('/analytics/timeseries', { query: { ...scope, step } }),
    api('/analytics/timeseries', { query: { ...scope, step: 'month', groupBy: 'channel' } }),
    api('/analytics/timeseries', { query: { ...scope, step: 'month', groupBy: 'sentiment' } }),
    // The knowledge gaps are the same whatever the window (those of the chosen assistant, else all).
    api('/analytics', { query: { timeRangeDays: 7, limit: 1, assistantId: scope.assistantId } }),
    api('/analytics/conversations', { query: { ...scope, q: filters.q, limit: PAGE, cursor } }),
  ]);
  data.catch(() => {}); // awaited below, after the form is shown

  const [assistants, numbers] = await lists;
  if (!isCurrent(seq)) return;
  const form = filterForm(filters, assistants.items, numbers.items);
  view.insertBefore(form, msg);
  let answers;
  try {
    answers = await data;
  } catch (e) {
    if (e.status !== 400 || !isCurrent(seq)) throw e;
    body.replaceChildren();
    showFormError(form, e, msg);
    return;
  }
  if (!isCurrent(seq)) return;
  const [trend, byChannel, bySentiment, overview, page] = answers;
  const points = trend.series[0]?.points || [];
  // The figure's inner width: the body's, less the card's padding and border.
  const room = body.clientWidth - 42;
  body.replaceChildren(summary(points, overview.summary?.knowledgeGaps), trendFigure(points, trend.meta.step || step, trend.meta, room));
  const chartsBox = h('section.charts', { 'aria-label': 'Breakdowns' });
  body.append(chartsBox);
  breakdowns(chartsBox, byChannel, bySentiment);
  body.append(conversationList(page, filters, cursor));
}

export async function renderConversation(view, id, query, seq) {
  const back = query.get('back') || '#/analytics';
  window.scrollTo(0, 0); // opened from a long list: start at its top, not at the row's height
  view.append(h('a.back', { href: back.startsWith('#/analytics') ? back : '#/analytics' }, '← Back to analytics'), loadingRow());
  const c = await api(`/analytics/${encodeURIComponent(id)}`);
  if (!isCurrent(seq)) return;
  view.querySelector('.loading')?.remove();
  const dl = h('dl.details');
  const row = (k, v) => { if (v !== null && v !== undefined && v !== '') dl.append(h('dt', k), h('dd', String(v))); };
  row('Channel', c.channel); row('Status', c.status); row('Started', fmtDate(c.startedAt || c.createdAt));
  row('Duration', c.durationFormatted || `${c.durationSeconds} s`); row('Sentiment', c.sentiment); row('Resolution', c.resolution);
  row('Ended because', c.endedReason); row('Customer', c.customer?.number); row('Assistant', c.assistant?.id);
  row('Success', c.analysis?.successEvaluation);
  view.append(h('h1', `Conversation ${c.id}`),
    h('section.card', { id: 'conversation-summary' }, h('h2', 'Summary'), h('p', c.analysis?.summary || 'No summary.'), dl));
  if (c.recordingUrl) {
    view.append(h('section.card', h('h2', 'Recording'), h('audio', { controls: true, preload: 'none', src: c.recordingUrl, 'aria-label': 'Call recording' })));
  }
  const msgs = c.messages || [];
  view.append(h('section.card', { id: 'conversation-messages' }, h('h2', 'Messages'),
    msgs.length ? h('ol.chat-log', msgs.map((m) => h(`li.bubble.${m.role === 'user' ? 'user' : 'assistant'}`, h('span.sr-only', `${m.role}: `), m.message)))
      : emptyState('No messages.')));
  if (c.transcript) view.append(h('section.card', h('h2', 'Transcript'), h('pre.transcript', c.transcript)));
}
