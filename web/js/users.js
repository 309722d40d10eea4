// Users (ADMINs): the organisation's users, paged; invite (the server makes the first password, shown once),
// change role, disable/enable, reset password (shown once). Paging lives in the hash query.
import { api, apiList } from './api.js';
import { h, field, session, messageBox, showMessage, showFormError, clearFormErrors, loadingRow, emptyState, confirmDialog, pager, isCurrent } from './ui.js';
import { notAllowed, secretPanel } from './secret.js';

const PAGE = 20;
const ROLES = [['VIEWER', 'Viewer: reads'], ['EDITOR', 'Editor: builds assistants'], ['ADMIN', 'Admin: also manages users']];

export async function render(view, params, query, seq) {
  if (notAllowed(view, 'Users')) return;
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const msg = messageBox();
  const secret = h('div', { id: 'user-secret' });
  const list = h('div.list', { id: 'user-list' }, loadingRow());
  const load = () => loadList(list, msg, secret, offset, seq);
  view.append(h('h1', 'Users'),
    h('p.meta', 'Everyone who can sign in to your organisation. A new user gets a password made by the server, shown to you once: hand it to them and ask them to change it under Account.'),
    msg, secret, inviteForm(msg, secret, load), list);
  await load();
}

function inviteForm(msg, secret, load) {
  const form = h('form.card#invite-form', { novalidate: true, 'aria-labelledby': 'invite-title' },
    h('h2#invite-title', 'Invite a user'),
    h('div.invite-fields',
      field('Email', 'input', { id: 'invite-email', name: 'email', type: 'email', required: true, 'data-field': 'email', maxlength: 254 }),
      field('Name (optional)', 'input', { id: 'invite-name', name: 'name', autocomplete: 'off', 'data-field': 'name', maxlength: 200 }),
      field('Role', 'select', { id: 'invite-role', name: 'role', 'data-field': 'role', value: 'VIEWER' }, ROLES)),
    h('div.actions', h('button', { type: 'submit', id: 'invite' }, 'Invite')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    showMessage(msg, '');
    const body = { email: form.email.value.trim(), role: form.role.value };
    if (form.name.value.trim()) body.name = form.name.value.trim();
    try {
      const user = await api('/users', { method: 'POST', body });
      form.reset();
      showSecret(secret, user, 'invited', () => form.email);
      await load();
    } catch (e) {
      showFormError(form, e, msg);
    }
  });
  return form;
}

/** The generated password of `user`, once; the control `focusAfter()` returns gets the focus when the panel
 *  is dismissed (looked up then: the list may have been redrawn). */
function showSecret(box, user, what, focusAfter) {
  box.replaceChildren(secretPanel({
    id: 'password-once',
    title: what === 'invited' ? `${user.email} is invited` : `New password for ${user.email}`,
    label: `Password for ${user.email}`,
    value: user.initialPassword,
    note: what === 'invited'
      ? 'Copy this first password now and hand it to them in a safe way; they sign in with it and change it under Account.'
      : 'Their sessions have ended. Copy the new password now and hand it to them in a safe way.',
    onDone: () => focusAfter()?.focus(),
  }));
}

async function loadList(list, msg, secret, offset, seq) {
  const { items, total } = await apiList('/users', { limit: PAGE, offset });
  if (!isCurrent(seq)) return;
  list.replaceChildren();
  if (!items.length) {
    list.append(emptyState('No users on this page.'));
  } else {
    list.append(h('table.data#user-table',
      h('caption.sr-only', 'Users of the organisation'),
      h('thead', h('tr', ['Email', 'Name', 'Role', 'Status', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', items.map((u) => userRow(u, msg, secret, () => loadList(list, msg, secret, offset, seq))))));
  }
  list.append(pager(total, offset, PAGE, (o) => { location.hash = `#/users?offset=${o}`; }));
}

function userRow(u, msg, secret, refresh) {
  const me = session.user && u.id === session.user.id;
  // The list is redrawn after each change; the focus goes back to this user's row (`focus`: a selector in it),
  // so that a keyboard user does not start again from the top of the page.
  const act = async (fn, done, focus) => {
    showMessage(msg, '');
    try {
      const result = await fn();
      await refresh();
      if (focus) document.querySelector(`#user-table tr[data-id="${CSS.escape(u.id)}"] ${focus}`)?.focus();
      if (done) done(result);
    } catch (e) {
      showMessage(msg, e.message, 'error');
    }
  };
  const roleId = `role-${u.id}`;
  // Named by aria-label: the table's column says "Role" to sighted users, and axe takes a visually hidden
  // <label> for a hidden one.
  const role = h('select', { id: roleId, name: 'role', disabled: me, 'aria-label': `Role of ${u.email}` });
  for (const [value, text] of ROLES) role.append(h('option', { value }, text.split(':')[0]));
  role.value = u.role;
  const roleForm = h('form.inline-form.role-form', { novalidate: true },
    role,
    !me && h('button.small.secondary', { type: 'submit' }, 'Change role'));
  roleForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (role.value === u.role) return;
    act(() => api(`/users/${encodeURIComponent(u.id)}`, { method: 'PATCH', body: { role: role.value } }),
      () => showMessage(msg, `${u.email} is now ${role.value}.`, 'success'), 'select');
  });
  const actions = me ? h('span.meta', 'You (change your password under Account)') : h('div.entry-actions',
    u.disabled
      ? h('button.small.secondary.enable', { type: 'button', 'aria-label': `Enable ${u.email}`, onclick: () =>
        act(() => api(`/users/${encodeURIComponent(u.id)}`, { method: 'PATCH', body: { disabled: false } }),
          () => showMessage(msg, `${u.email} can sign in again.`, 'success'), 'button.disable') }, 'Enable')
      : h('button.small.danger.disable', { type: 'button', 'aria-label': `Disable ${u.email}`, onclick: async () => {
        if (!(await confirmDialog(`Disable ${u.email}? They are signed out at once and cannot sign in until enabled again.`, 'Disable'))) return;
        act(() => api(`/users/${encodeURIComponent(u.id)}`, { method: 'PATCH', body: { disabled: true } }),
          () => showMessage(msg, `${u.email} is disabled.`, 'success'), 'button.enable');
      } }, 'Disable'),
    h('button.small.secondary.reset', { type: 'button', 'aria-label': `Reset the password of ${u.email}`, onclick: async () => {
      if (!(await confirmDialog(`Reset the password of ${u.email}? Their current password stops working and they are signed out everywhere.`, 'Reset password'))) return;
      act(() => api(`/users/${encodeURIComponent(u.id)}/reset-password`, { method: 'POST' }),
        (user) => showSecret(secret, user, 'reset', () => document.querySelector(`#user-table tr[data-id="${CSS.escape(u.id)}"] .reset`)));
    } }, 'Reset password'));
  return h('tr', { 'data-id': u.id, 'data-email': u.email, 'data-status': u.disabled ? 'disabled' : 'active' },
    h('td', u.email),
    h('td', u.name || ''),
    h('td', roleForm),
    h('td', h(u.disabled ? 'span.badge.status-disabled' : 'span.badge.status-active', u.disabled ? 'Disabled' : 'Active')),
    h('td', actions));
}
