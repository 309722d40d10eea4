// Phone numbers: list, import twilio/vonage (edmo needs a voice platform), rename, attach/detach, release.
import { api, apiList } from './api.js';
import { h, field, can, messageBox, showMessage, showFormError, clearFormErrors, showVariant, loadingRow, emptyState, confirmDialog, pager, reload, takeFlash, isCurrent } from './ui.js';

const PAGE = 50;

export async function render(view, params, query, seq) {
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const writable = can('phoneNumbers', 'write');
  const msg = messageBox();
  takeFlash(msg);
  const list = h('div.list', { id: 'phone-list' }, loadingRow());
  view.append(h('h1', 'Phone numbers'), msg);
  const [{ items, total }, assistants] = await Promise.all([
    apiList('/phone-numbers', { limit: PAGE, offset }),
    apiList('/assistants', { limit: 1000 }).catch(() => ({ items: [] })),
  ]);
  if (!isCurrent(seq)) return;
  const options = [['', '(no assistant)'], ...assistants.items.map((a) => [a.id, a.name || a.id])];
  const names = Object.fromEntries(assistants.items.map((a) => [a.id, a.name || a.id]));
  if (writable) view.append(createForm(msg, options, seq));
  view.append(list);
  list.replaceChildren();
  if (!items.length) list.append(emptyState('No phone numbers yet.'));
  else list.append(h('table.data',
    h('caption.sr-only', 'Phone numbers'),
    h('thead', h('tr', ['Number', 'Name', 'Provider', 'Assistant', writable ? 'Actions' : null].filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', items.map((p) => h('tr', { 'data-id': p.id },
      h('td', p.number),
      h('td', writable ? nameControl(p, msg) : (p.name || '')),
      h('td', p.provider),
      h('td', writable ? attachControl(p, options, msg) : (p.assistantId ? (names[p.assistantId] || p.assistantId) : '—')),
      writable && h('td', h('button.danger.small', { type: 'button', 'aria-label': `Release ${p.number}`, onclick: async () => {
        if (!(await confirmDialog(`Release the number ${p.number}?`, 'Release'))) return;
        try { await api(`/phone-numbers/${encodeURIComponent(p.id)}`, { method: 'DELETE' }); if (isCurrent(seq)) reload('Number released.'); }
        catch (e) { showMessage(msg, e.message, 'error'); }
      } }, 'Release')))))));
  list.append(pager(total, offset, PAGE, (o) => { location.hash = `#/phone-numbers?offset=${o}`; }));
}

/** The number's name, with a Rename button that swaps in a small inline form (PATCH {name}). */
function nameControl(p, msg) {
  const cell = h('div.name-cell');
  const show = () => {
    cell.replaceChildren(h('span.phone-name', p.name || '—'),
      h('button.secondary.small.rename', { type: 'button', 'data-number': p.number, 'aria-label': `Rename ${p.number}`, onclick: edit }, 'Rename'));
  };
  const edit = () => {
    const id = `rename-${p.id}`;
    const input = h('input', { id, name: 'name', 'data-field': 'name', maxlength: 200, value: p.name || '', placeholder: 'No name' });
    const form = h('form.inline-form', { novalidate: true, 'data-number': p.number },
      h('label.sr-only', { for: id }, `Name of ${p.number}`), input,
      h('button.small', { type: 'submit' }, 'Save name'),
      h('button.secondary.small', { type: 'button', onclick: () => { show(); cell.querySelector('button.rename').focus(); } }, 'Cancel'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = input.value.trim() || null;
      try {
        const updated = await api(`/phone-numbers/${encodeURIComponent(p.id)}`, { method: 'PATCH', body: { name } });
        p.name = updated?.name ?? name;
        show();
        showMessage(msg, p.name ? `${p.number} is now named ${p.name}.` : `${p.number} has no name now.`, 'success');
      } catch (e) {
        input.setAttribute('aria-invalid', 'true');
        showMessage(msg, e.message, 'error');
      }
    });
    cell.replaceChildren(form);
    input.focus();
    input.select();
  };
  show();
  return cell;
}

function attachControl(p, options, msg) {
  const id = `attach-${p.id}`;
  const sel = h('select', { id, 'data-number': p.number });
  for (const [value, text] of options) sel.append(h('option', { value }, text));
  sel.value = p.assistantId || '';
  sel.addEventListener('change', async () => {
    try {
      await api(`/phone-numbers/${encodeURIComponent(p.id)}`, { method: 'PATCH', body: { assistantId: sel.value || null } });
      showMessage(msg, sel.value ? `${p.number} now answers with ${sel.selectedOptions[0].textContent}.` : `${p.number} detached.`, 'success');
    } catch (e) {
      sel.value = p.assistantId || '';
      showMessage(msg, e.message, 'error');
    }
  });
  return h('span', h('label.sr-only', { for: id }, `Assistant for ${p.number}`), sel);
}

function createForm(msg, options, seq) {
  const f = (label, kind, name, attrs = {}, opts) => field(label, kind, { name, 'data-field': name, ...attrs }, opts);
  const secret = { type: 'password', autocomplete: 'new-password' };
  const groups = {
    twilio: h('div.group',
      f('Twilio phone number (E.164)', 'input', 'twilioPhoneNumber', { placeholder: '+17865550123', inputmode: 'tel' }),
      f('Twilio account SID', 'input', 'twilioAccountSid', { placeholder: 'AC…' }),
      f('Twilio auth token', 'input', 'twilioAuthToken', secret)),
    vonage: h('div.group',
      f('Vonage phone number (E.164)', 'input', 'vonagePhoneNumber', { placeholder: '+17865550123', inputmode: 'tel' }),
      f('Vonage API key', 'input', 'vonageApiKey'),
      f('Vonage API secret', 'input', 'vonageApiSecret', secret)),
    edmo: h('div.group',
      f('Desired area code', 'input', 'numberDesiredAreaCode', { placeholder: '786', inputmode: 'numeric', maxlength: 3 })),
  };
  const providerField = f('Provider', 'select', 'provider', { id: 'phone-provider' }, [['twilio', 'Twilio (import)'], ['vonage', 'Vonage (import)'], ['edmo', 'Edmo (buy a number)']]);
  const sel = providerField.querySelector('select');
  const form = h('form.card', { id: 'phone-form', novalidate: true }, h('h2', 'Add a phone number'),
    providerField,
    f('Name (optional)', 'input', 'name', { maxlength: 200 }),
    Object.values(groups),
    f('Assistant', 'select', 'assistantId', { id: 'phone-assistant' }, options),
    h('div.actions', h('button', { type: 'submit', id: 'create-phone' }, 'Add number')));
  showVariant(sel, groups);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    showMessage(msg, '');
    const body = { provider: sel.value };
    for (const c of groups[sel.value].querySelectorAll('input')) if (c.value.trim()) body[c.name] = c.value.trim();
    const name = form.querySelector('[data-field="name"]').value.trim();
    if (name) body.name = name;
    const asst = form.querySelector('[data-field="assistantId"]').value;
    if (asst) body.assistantId = asst;
    try {
      await api('/phone-numbers', { method: 'POST', body });
      if (!isCurrent(seq)) return;
      reload('Phone number added.');
    } catch (e) {
      showFormError(form, e, msg);
      if (!form.querySelector('.field.invalid')) msg.scrollIntoView({ block: 'nearest' });
    }
  });
  return form;
}
