// Audit log (ADMINs): who changed what, when and from where, newest first; filters live in the hash query.
import { apiList } from './api.js';
import { h, field, loadingRow, emptyState, pager, fmtDate, isCurrent } from './ui.js';

const PAGE = 50;
const FILTERS = [
  ['actor', 'Who (email or id)', 'text', 'admin@example.edu'],
  ['action', 'Action', 'text', 'assistant.* or auth.login_failed'],
  ['targetType', 'Target type', 'text', 'assistant, user, tool…'],
  ['targetId', 'Target id', 'text', ''],
  ['from', 'From', 'date', ''],
  ['to', 'To', 'date', ''],
];

function currentFilters(query) {
  const f = {};
  for (const [k] of FILTERS) {
    const v = query.get(k);
    if (v) f[k] = v;
  }
  return f;
}

function toHash(filters, offset) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  if (offset) q.set('offset', offset);
  return `#/audit?${q}`;
}

const show = (v) => (v === undefined ? '—' : v === null ? '(none)' : JSON.stringify(v));

/** "field: old → new" per changed field; a secret only ever shows as "[redacted]". */
function changeList(changes) {
  const fields = Object.entries(changes || {});
  if (!fields.length) return '';
  return h('ul.changes', fields.map(([name, c]) => {
    const sides = c && typeof c === 'object' && ('old' in c || 'new' in c);
    const text = !sides ? show(c) : !('old' in c) ? show(c.new) : !('new' in c) ? `${show(c.old)} (removed)` : `${show(c.old)} → ${show(c.new)}`;
    return h('li', h('code', name), `: ${text}`);
  }));
}

export async function render(view, params, query, seq) {
  const filters = currentFilters(query);
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const form = h('form.filters', { id: 'audit-filters', 'aria-label': 'Filters', novalidate: true });
  for (const [k, label, type, placeholder] of FILTERS) {
    form.append(field(label, 'input', { name: k, id: `audit-${k}`, type, placeholder: placeholder || undefined, value: filters[k] || '', 'data-field': k }));
  }
  const csvQuery = new URLSearchParams(filters);
  form.append(h('div.actions', h('button', { type: 'submit' }, 'Apply'),
    h('a.button.secondary', { href: `/api/audit-log.csv?${csvQuery}`, download: 'audit-log.csv', id: 'audit-csv' }, 'Download CSV')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = {};
    for (const input of form.querySelectorAll('input')) next[input.name] = input.value.trim();
    location.hash = toHash(next, 0);
  });
  const body = h('div', { id: 'audit-body' }, loadingRow());
  view.append(h('h1', 'Audit log'),
    h('p.meta', 'Every change made by a person, a key or the command line, and every failed sign-in. Secrets and passwords are never shown.'),
    form, body);

  const { items, total } = await apiList('/audit-log', { ...filters, limit: PAGE, offset });
  if (!isCurrent(seq)) return;
  body.replaceChildren();
  if (!items.length) {
    body.append(emptyState('No entries match these filters.'));
    return;
  }
  body.append(h('table.data', { id: 'audit-table' },
    h('thead', h('tr', ['When', 'Who', 'Address', 'Action', 'Target', 'Changes'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', items.map((e) => h('tr', { 'data-id': e.id, 'data-action': e.action },
      h('td', h('time', { datetime: e.at }, fmtDate(e.at))),
      h('td', e.actorLabel || e.actorId || e.actorKind, e.actorKind === 'user' ? null : [' ', h('span.badge', e.actorKind)]),
      h('td', e.address || ''),
      h('td', h('code', e.action)),
      h('td', e.targetType ? `${e.targetType} ${e.targetId || ''}` : ''),
      h('td.wrap', changeList(e.changes)))))));
  body.append(pager(total, offset, PAGE, (o) => { location.hash = toHash(filters, o); }));
}
