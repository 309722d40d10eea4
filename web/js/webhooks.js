// Outbound events (ADMINs): the organisation's webhook endpoints, each with its recent deliveries and
// "Send again". A new endpoint's signing secret is shown once, right after it is made.
import { api, apiList } from './api.js';
import { h, field, messageBox, showMessage, showFormError, clearFormErrors, loadingRow, emptyState, fmtDate, confirmDialog, isCurrent } from './ui.js';

const TYPES = ['conversation.ended', 'knowledge_gap.created', 'call.ingested', 'assistant.created', 'assistant.updated', 'assistant.deleted'];

export async function render(view, params, query, seq) {
  const msg = messageBox();
  const list = h('div#webhooks-body', loadingRow());
  view.append(h('h1', 'Outbound events'),
    h('p.meta', 'Endpoints of your own servers that receive signed events (README "Outbound events"). Secrets are shown once.'),
    msg, createForm(msg, () => load(list, msg, seq)), list);
  await load(list, msg, seq);
}

function createForm(msg, reload) {
  const boxes = TYPES.map((t) => h('label.check', h('input', { type: 'checkbox', name: 'eventTypes', value: t, checked: true }), ` ${t}`));
  const form = h('form#webhook-form', { novalidate: true },
    field('Endpoint URL', 'input', { id: 'webhook-url', name: 'url', 'data-field': 'url', type: 'url', placeholder: 'https://hooks.example.com/edmo', required: true }),
    field('Description', 'input', { id: 'webhook-description', name: 'description', 'data-field': 'description', type: 'text' }),
    h('fieldset', { 'data-field': 'eventTypes' }, h('legend', 'Events'), boxes),
    h('div.actions', h('button', { type: 'submit', id: 'add-webhook' }, 'Add endpoint')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    showMessage(msg, '');
    const eventTypes = [...form.querySelectorAll('input[name=eventTypes]:checked')].map((i) => i.value);
    const description = form.querySelector('#webhook-description').value.trim();
    try {
      const made = await api('/webhook-endpoints', { method: 'POST', body: { url: form.querySelector('#webhook-url').value.trim(), eventTypes, ...(description ? { description } : {}) } });
      form.reset();
      showMessage(msg, `Endpoint added. Its signing secret, shown only now: ${made.secret}`, 'success');
      await reload();
    } catch (e) {
      showFormError(form, e, 'The endpoint could not be added.');
    }
  });
  return form;
}

async function load(list, msg, seq) {
  const { items } = await apiList('/webhook-endpoints', { limit: 100 });
  if (!isCurrent(seq)) return;
  list.replaceChildren();
  if (!items.length) {
    list.append(emptyState('No endpoints yet.'));
    return;
  }
  for (const e of items) list.append(endpointCard(e, list, msg, seq));
}

function endpointCard(e, list, msg, seq) {
  const deliveries = h('div.deliveries', { id: `deliveries-${e.id}` }, loadingRow());
  const toggle = h('button.secondary', { type: 'button', 'data-action': 'toggle' }, e.enabled ? 'Disable' : 'Enable');
  toggle.addEventListener('click', async () => {
    await api(`/webhook-endpoints/${e.id}`, { method: 'PATCH', body: { enabled: !e.enabled } });
    await load(list, msg, seq);
  });
  const rotate = h('button.secondary', { type: 'button', 'data-action': 'rotate' }, 'Rotate secret');
  rotate.addEventListener('click', async () => {
    const r = await api(`/webhook-endpoints/${e.id}/rotate-secret`, { method: 'POST' });
    showMessage(msg, `New signing secret, shown only now (the previous one signs too until ${fmtDate(r.previousSecretExpiresAt)}): ${r.secret}`, 'success');
  });
  const remove = h('button.danger', { type: 'button', 'data-action': 'delete' }, 'Delete');
  remove.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete the endpoint ${e.url} and its deliveries?`))) return;
    await api(`/webhook-endpoints/${e.id}`, { method: 'DELETE' });
    await load(list, msg, seq);
  });
  const card = h('section.card', { 'data-id': e.id },
    h('h2', e.url), h('p.meta', `${e.enabled ? 'Enabled' : 'Disabled'} · ${e.eventTypes.join(', ')}${e.description ? ` · ${e.description}` : ''}`),
    h('div.actions', toggle, rotate, remove), deliveries);
  loadDeliveries(e, deliveries, seq);
  return card;
}

async function loadDeliveries(e, box, seq) {
  const { items, total } = await apiList(`/webhook-endpoints/${e.id}/deliveries`, { limit: 20 });
  if (!isCurrent(seq)) return;
  box.replaceChildren();
  if (!items.length) {
    box.append(emptyState('No deliveries yet.'));
    return;
  }
  box.append(h('table.data', { id: `deliveries-table-${e.id}` },
    h('caption', `Recent deliveries (${items.length} of ${total})`),
    h('thead', h('tr', ['Created', 'Event', 'Status', 'Attempts', 'Last answer', 'Time'].map((c) => h('th', { scope: 'col' }, c))
      .concat(h('th', { scope: 'col' }, h('span.sr-only', 'Actions'))))),
    h('tbody', items.map((d) => {
      const again = h('button.secondary', { type: 'button', 'data-action': 'retry', disabled: d.status === 'cancelled' }, 'Send again');
      again.addEventListener('click', async () => {
        await api(`/webhook-endpoints/${e.id}/deliveries/${d.id}/retry`, { method: 'POST' });
        await loadDeliveries(e, box, seq);
      });
      return h('tr', { 'data-id': d.id, 'data-status': d.status },
        h('td', h('time', { datetime: d.createdAt }, fmtDate(d.createdAt))),
        h('td', h('code', d.eventType)),
        h('td', h('span.badge', d.status)),
        h('td', String(d.attempts)),
        h('td.wrap', d.lastStatus ? `HTTP ${d.lastStatus}` : (d.lastError || '')),
        h('td', d.responseMs === null ? '' : `${d.responseMs} ms`),
        h('td', again));
    }))));
}
