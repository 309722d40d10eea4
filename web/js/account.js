// Account (everyone): who is signed in, and the change of one's own password (the current one is asked;
// every other session of the user ends, this one stays).
import { api } from './api.js';
import { h, field, session, messageBox, showMessage, showFormError, clearFormErrors } from './ui.js';

export function render(view) {
  const user = session.user;
  const msg = messageBox();
  const details = h('dl.details#account-details',
    h('dt', 'Email'), h('dd', user.email),
    user.name ? [h('dt', 'Name'), h('dd', user.name)] : null,
    h('dt', 'Role'), h('dd', user.role),
    user.organization?.name ? [h('dt', 'Organisation'), h('dd', user.organization.name)] : null);
  view.append(h('h1', 'Account'), msg, h('section.card', { 'aria-labelledby': 'account-title' }, h('h2#account-title', 'You'), details), passwordForm(msg));
}

function passwordForm(msg) {
  const hint = 'At least 8 characters. A passphrase of several words is easy to remember and hard to guess.';
  // The username field lets password managers file the new password under the right account.
  const username = h('input', { type: 'hidden', name: 'username', autocomplete: 'username', value: session.user.email });
  const form = h('form.card#password-form', { novalidate: true, 'aria-labelledby': 'password-title' },
    h('h2#password-title', 'Change your password'),
    h('p.meta', 'You stay signed in here; every other session of your account (another browser or device) is signed out.'),
    username,
    field('Current password', 'input', { id: 'current-password', name: 'currentPassword', type: 'password', autocomplete: 'current-password', required: true, 'data-field': 'currentPassword' }),
    field('New password', 'input', { id: 'new-password', name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 1024, 'data-field': 'newPassword' }),
    h('p.meta#new-password-hint', hint),
    field('New password again', 'input', { id: 'confirm-password', name: 'confirmPassword', type: 'password', autocomplete: 'new-password', required: true, 'data-field': 'confirmPassword' }),
    h('div.actions', h('button', { type: 'submit', id: 'change-password' }, 'Change password')));
  const newInput = form.querySelector('#new-password');
  newInput.setAttribute('aria-describedby', `${newInput.getAttribute('aria-describedby')} new-password-hint`);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    showMessage(msg, '');
    const currentPassword = form.currentPassword.value;
    const newPassword = form.newPassword.value;
    if (!currentPassword) return showFormError(form, new Error('Invalid value for field: currentPassword (enter your current password)'), msg);
    if (newPassword.length < 8) return showFormError(form, new Error('Invalid value for field: newPassword (at least 8 characters)'), msg);
    if (newPassword !== form.confirmPassword.value) {
      return showFormError(form, new Error('Invalid value for field: confirmPassword (the two new passwords differ)'), msg);
    }
    const submit = form.querySelector('#change-password');
    submit.disabled = true;
    try {
      await api('/auth/password', { method: 'POST', body: { currentPassword, newPassword } });
      form.reset();
      showMessage(msg, 'Your password is changed. Your other sessions are signed out; this one stays.', 'success');
    } catch (e) {
      if (e.status === 429) {
        const secs = Number(e.retryAfter) || 60;
        showMessage(msg, `Too many wrong passwords: try again in ${secs} seconds.`, 'error');
      } else {
        showFormError(form, e, msg);
      }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
