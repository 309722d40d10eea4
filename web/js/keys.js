// Analytics keys (ADMINs): keys that reporting tools send as X-API-Key to read this organisation's analytics.
// A new key is shown once; revoking one asks first.
import { api } from './api.js';
import { h, field, messageBox, showMessage, showFormError, clearFormErrors, loadingRow, emptyState, confirmDialog, fmtDate, isCurrent } from './ui.js';
import { notAllowed, secretPanel } from './secret.js';

export async function render(view, params, query, seq) {
  if (notAllowed(view, 'Analytics keys')) return;
  const msg = messageBox();
  const secret = h('div', { id: 'key-secret' });
  const list = h('div.list', { id: 'key-list' }, loadingRow());
  const load = () => loadList(list, msg, seq);
  view.append(h('h1', 'Analytics keys'),
    h('p.meta', 'A reporting tool sends a key as the X-API-Key header to read this organisation\'s analytics '
      + '(GET /api/analytics and the time series, conversation list and CSV export). A key reads only; it cannot sign in or change anything.'),
    msg, secret, createForm(msg, secret, load), list);
  await load();
}

function createForm(msg, secret, load) {
  const form = h('form.card#key-form', { novalidate: true, 'aria-labelledby': 'key-form-title' },
    h('h2#key-form-title', 'Create a key'),
    field('Name (optional)', 'input', { id: 'key-name', name: 'name', 'data-field': 'name', maxlength: 200, autocomplete: 'off', placeholder: 'Board dashboard' }),
    h('div.actions', h('button', { type: 'submit', id: 'create-key' }, 'Create key')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    showMessage(msg, '');
    const name = form.name.value.trim();
    try {
      const key = await api('/analytics-keys', { method: 'POST', body: name ? { name } : {} });
      form.reset();
      secret.replaceChildren(secretPanel({
        id: 'key-once',
        title: `Key ${key.name ? `"${key.name}"` : key.prefix} created`,
        label: 'Analytics API key',
        value: key.key,
        note: `Copy it now into the reporting tool. Only its start (${key.prefix}) is kept to recognise it in the list.`,
        onDone: () => form.name.focus(),
      }));
      await load();
    } catch (e) {
      showFormError(form, e, msg);
    }
  });
  return form;
}

async function loadList(list, msg, seq) {
  const keys = await api('/analytics-keys');
  if (!isCurrent(seq)) return;
  list.replaceChildren();
  if (!keys.length) {
    list.append(emptyState('No analytics keys yet.'));
    return;
  }
  list.append(h('table.data#key-table',
    h('caption.sr-only', 'Analytics keys of the organisation, newest first'),
    h('thead', h('tr', ['Name', 'Key starts with', 'Created', 'Status', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', keys.map((k) => h('tr', { 'data-id': k.id, 'data-prefix': k.prefix, 'data-status': k.revokedAt ? 'revoked' : 'active' },
      h('td', k.name || '(no name)'),
      h('td', h('code', `${k.prefix}…`)),
      h('td', h('time', { datetime: k.createdAt }, fmtDate(k.createdAt))),
      h('td', k.revokedAt
        ? [h('span.badge.status-disabled', 'Revoked'), ' ', h('time', { datetime: k.revokedAt }, fmtDate(k.revokedAt))]
        : h('span.badge.status-active', 'Active')),
      h('td', k.revokedAt ? '' : h('button.small.danger.revoke', { type: 'button', 'aria-label': `Revoke ${k.name || k.prefix}`, onclick: async () => {
        const what = k.name ? `the key "${k.name}" (${k.prefix}…)` : `the key ${k.prefix}…`;
        if (!(await confirmDialog(`Revoke ${what}? Tools using it get 403 at once. This cannot be undone.`, 'Revoke'))) return;
        showMessage(msg, '');
        try {
          await api(`/analytics-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
          await loadList(list, msg, seq);
          showMessage(msg, 'Key revoked.', 'success');
          document.getElementById('key-name')?.focus();
        } catch (e) {
          showMessage(msg, e.message, 'error');
        }
      } }, 'Revoke')))))));
}
