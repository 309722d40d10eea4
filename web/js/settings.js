// Organisation settings: how long conversations are kept (everyone reads, ADMINs change it), and the
// erasure of one person's conversations (ADMINs).
import { api } from './api.js';
import { h, field, can, session, messageBox, showMessage, showFormError, clearFormErrors, showVariant, loadingRow, confirmDialog, isCurrent } from './ui.js';

function days(n) {
  return n === 1 ? '1 day' : `${n} days`;
}

/** What the sweep does, in words. */
function describe(s) {
  const rule = s.effectiveRetentionDays === null
    ? 'Conversations are kept forever'
    : `Conversations and their messages are removed ${days(s.effectiveRetentionDays)} after they started`;
  const why = s.retentionDays === null ? ' (the deployment\'s default)' : '';
  return `${rule}${why}. The analytics keep counting removed conversations.`;
}

export async function render(view, params, query, seq) {
  const msg = messageBox();
  const status = h('div#retention-status', loadingRow());
  const org = session.user?.organization?.name;
  const section = h('section.card', { 'aria-labelledby': 'retention-title' }, h('h2#retention-title', 'Conversation retention'), status);
  view.append(...[h('h1', 'Settings'), org && h('p.meta', `Organisation: ${org}`), msg, section].filter(Boolean));
  const settings = await api('/organization/settings');
  if (!isCurrent(seq)) return;
  status.textContent = describe(settings);
  if (!can('users', 'write')) return;
  section.append(retentionForm(settings, status, msg));
  view.append(erasureForm(msg));
}

function retentionForm(settings, status, msg) {
  const fallback = settings.defaultRetentionDays === null ? 'kept forever' : days(settings.defaultRetentionDays);
  const mode = settings.retentionDays === null ? 'default' : settings.retentionDays === 0 ? 'forever' : 'days';
  const modeField = field('Keep conversations', 'select', { id: 'retention-mode', name: 'mode', value: mode },
    [['default', `Deployment default (${fallback})`], ['forever', 'Forever'], ['days', 'A number of days']]);
  const select = modeField.querySelector('select');
  const daysGroup = h('div.group', field('Days after the conversation started', 'input', {
    id: 'retention-days', name: 'retentionDays', 'data-field': 'retentionDays', type: 'number', min: 1, max: 36500, step: 1,
    inputmode: 'numeric', value: mode === 'days' ? String(settings.retentionDays) : '30',
  }));
  const form = h('form#retention-form', { novalidate: true }, modeField, daysGroup,
    h('div.actions', h('button', { type: 'submit', id: 'save-retention' }, 'Save retention')));
  showVariant(select, { days: daysGroup });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    showMessage(msg, '');
    let retentionDays = null;
    if (select.value === 'forever') retentionDays = 0;
    if (select.value === 'days') {
      const raw = form.querySelector('#retention-days').value.trim();
      retentionDays = /^\d+$/.test(raw) ? Number(raw) : raw;
    }
    try {
      const saved = await api('/organization/settings', { method: 'PATCH', body: { retentionDays } });
      status.textContent = describe(saved);
      showMessage(msg, 'Retention saved.', 'success');
    } catch (e) {
      showFormError(form, e, msg);
    }
  });
  return form;
}

function erasureForm(msg) {
  const kind = field('Find their conversations by', 'select', { id: 'erasure-kind', name: 'kind' },
    [['phoneNumber', 'Caller\'s phone number'], ['chatId', 'Chat id']]);
  const select = kind.querySelector('select');
  const value = field('Phone number or chat id', 'input', { id: 'erasure-value', name: 'value', 'data-field': 'phoneNumber', maxlength: 200, placeholder: '+17865550123' });
  const input = value.querySelector('input');
  select.addEventListener('change', () => {
    input.dataset.field = select.value;
    input.placeholder = select.value === 'phoneNumber' ? '+17865550123' : 'chat_…';
  });
  const result = h('p#erasure-result', { role: 'status' });
  const form = h('form.card#erasure-form', { novalidate: true },
    h('h2', 'Erase a person\'s conversations'),
    h('p.meta', 'Removes every conversation of one caller (by their number) or one chat, with its messages, transcript, '
      + 'recording link and summary. The analytics keep anonymous counts. This cannot be undone.'),
    kind, value, h('div.actions', h('button.danger', { type: 'submit', id: 'erase' }, 'Erase')), result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    showMessage(msg, '');
    result.textContent = '';
    const text = input.value.trim();
    const what = select.value === 'phoneNumber' ? `every conversation of ${text}` : `the chat ${text}`;
    if (!(await confirmDialog(`Erase ${what}? This cannot be undone.`, 'Erase'))) return;
    try {
      const { erased } = await api('/erasures', { method: 'POST', body: { [select.value]: text } });
      result.textContent = `Erased ${erased.conversations} conversation${erased.conversations === 1 ? '' : 's'} `
        + `and ${erased.messages} message${erased.messages === 1 ? '' : 's'}.`;
      input.value = '';
    } catch (e) {
      showFormError(form, e, msg);
    }
  });
  return form;
}
