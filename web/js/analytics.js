// Analytics: summary, charts, conversations (filters live in the hash query), conversation detail.
import { api, apiList } from './api.js';
import { h, field, loadingRow, emptyState, pager, fmtDate, isCurrent } from './ui.js';

const PAGE = 25;
const FILTERS = {
  timeRangeDays: [['7', 'Last 7 days'], ['30', 'Last 30 days'], ['90', 'Last 90 days']],
  channel: [['all', 'All channels'], ['web', 'Web'], ['phone', 'Phone']],
  sentiment: [['all', 'All sentiments'], ['positive', 'Positive'], ['neutral', 'Neutral'], ['negative', 'Negative']],
  resolution: [['all', 'All resolutions'], ['resolved', 'Resolved'], ['escalated', 'Escalated'], ['failed', 'Failed']],
};
const LABELS = { timeRangeDays: 'Time range', channel: 'Channel', sentiment: 'Sentiment', resolution: 'Resolution', assistantId: 'Assistant', phoneNumberId: 'Phone number' };
let charts = [];

function currentFilters(query) {
  const f = {};
  for (const k of ['timeRangeDays', 'channel', 'sentiment', 'resolution', 'assistantId', 'phoneNumberId']) {
    const v = query.get(k);
    if (v && v !== 'all') f[k] = v;
  }
  if (!f.timeRangeDays) f.timeRangeDays = '30';
  return f;
}

function toHash(filters, offset) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v && v !== 'all') q.set(k, v);
  if (offset) q.set('offset', offset);
  return `#/analytics?${q}`;
}

export async function renderDashboard(view, params, query, seq) {
  charts.forEach((c) => c.destroy());
  charts = [];
  const filters = currentFilters(query);
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const form = h('form.filters', { id: 'analytics-filters', 'aria-label': 'Filters' });
  const body = h('div', { id: 'analytics-body' }, loadingRow());
  view.append(h('h1', 'Analytics'), form, body);

  const [assistants, numbers] = await Promise.all([
    apiList('/assistants', { limit: 1000 }).catch(() => ({ items: [] })),
    apiList('/phone-numbers', { limit: 1000 }).catch(() => ({ items: [] })),
  ]);
  if (!isCurrent(seq)) return;
  const opts = {
    ...FILTERS,
    assistantId: [['', 'All assistants'], ...assistants.items.map((a) => [a.id, a.name || a.id])],
    phoneNumberId: [['', 'All numbers'], ...numbers.items.map((p) => [p.id, p.name ? `${p.name} (${p.number})` : p.number])],
  };
  for (const [k, o] of Object.entries(opts)) {
    const box = field(LABELS[k], 'select', { name: k, id: `filter-${k}`, 'data-field': k, value: filters[k] ?? (k in FILTERS ? 'all' : '') }, o);
    box.querySelector('select').addEventListener('change', () => {
      const next = {};
      for (const s of form.querySelectorAll('select')) next[s.name] = s.value;
      location.hash = toHash(next, 0);
    });
    form.append(box);
  }

  const data = await api('/analytics', { query: { ...filters, limit: PAGE, offset } });
  if (!isCurrent(seq)) return;
  const s = data.summary;
  body.replaceChildren();
  const stat = (label, value, id) => h('div.stat', { 'data-stat': id }, h('span.stat-value', String(value)), h('span.stat-label', label));
  body.append(h('section.stats', { id: 'analytics-summary', 'aria-label': 'Summary' },
    stat('Conversations', s.totalConversations, 'total'),
    stat('Success rate', `${s.successRatePercent}%`, 'success'),
    stat('Escalation rate', `${s.escalationRatePercent}%`, 'escalation'),
    stat('Avg. duration', `${s.avgDurationSeconds} s`, 'duration'),
    stat('Time saved', `${s.timeSavedHours} h`, 'saved'),
    stat('Knowledge gaps', `${s.knowledgeGaps?.totalGaps ?? 0} (${s.knowledgeGaps?.highPriorityGaps ?? 0} high)`, 'gaps')));

  const chartsBox = h('section.charts');
  body.append(chartsBox);
  if (window.Chart) {
    const bar = (title, labels, values, colors) => {
      const canvas = h('canvas', { role: 'img', 'aria-label': `${title}: ${labels.map((l, i) => `${l} ${values[i]}`).join(', ')}` });
      chartsBox.append(h('figure.card.chart', h('figcaption', title), h('div.chart-box', canvas)));
      charts.push(new window.Chart(canvas, {
        type: 'bar',
        data: { labels, datasets: [{ label: title, data: values, backgroundColor: colors }] },
        options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      }));
    };
    bar('Conversations by channel', ['Web', 'Phone'], [s.byChannel?.web ?? 0, s.byChannel?.phone ?? 0], ['#3558d4', '#16a34a']);
    bar('Outcomes', ['Resolved', 'Failed', 'Escalated'], [s.successfulConversations, s.failedConversations, s.escalatedConversations], ['#16a34a', '#dc2626', '#d97706']);
    bar('Conversations by sentiment', ['Positive', 'Neutral', 'Negative'],
      [s.bySentiment?.positive ?? 0, s.bySentiment?.neutral ?? 0, s.bySentiment?.negative ?? 0], ['#16a34a', '#64748b', '#dc2626']);
  }

  const convs = data.conversations || [];
  const table = h('section', { id: 'conversations', 'aria-labelledby': 'conv-title' }, h('h2#conv-title', 'Conversations'));
  body.append(table);
  if (!convs.length) {
    table.append(emptyState('No conversations match these filters.'));
    return;
  }
  const back = encodeURIComponent(location.hash);
  table.append(h('table.data.clickable',
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
  const total = s.totalConversations;
  table.append(pager(total, offset, PAGE, (o) => { location.hash = toHash(filters, o); }));
}

export async function renderConversation(view, id, query, seq) {
  const back = query.get('back') || '#/analytics';
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
