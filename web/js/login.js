import { api } from './api.js';
import { h, field, messageBox, showMessage, session } from './ui.js';

export function render(view) {
  session.user = null;
  document.getElementById('app-header').hidden = true;
  const msg = messageBox();
  // A text box that asks for the e-mail keyboard: password managers want `username` on the sign-in name, and
  // axe-core 3 (axe-selenium-python on Python < 3.12) holds `username` invalid on type=email.
  const email = field('Email', 'input', { type: 'text', inputmode: 'email', name: 'email', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
  const password = field('Password', 'input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form.card.login', { id: 'login-form', novalidate: true }, h('h1', 'Sign in to Edmo'), msg, email, password, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showMessage(msg, '');
    const body = { email: form.email.value.trim(), password: form.password.value };
    if (!body.email || !body.password) {
      showMessage(msg, 'Enter your email and password.', 'error');
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const res = await api('/auth/login', { method: 'POST', body });
      // /auth/me carries more than the login answer (e.g. the organisation); fall back to the latter.
      const me = await api('/auth/me').catch(() => null);
      signedIn(me?.user ? { ...res.user, ...me.user } : res.user);
    } catch (e) {
      if (e.status === 429) {
        const secs = Number(e.retryAfter) || 60;
        showMessage(msg, `Too many attempts, try again in ${secs} seconds`, 'error');
      } else {
        showMessage(msg, e.message, 'error');
      }
      form.password.select();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });
  view.append(form);
  form.email.focus();
}

function signedIn(user) {
  session.user = user;
  const back = sessionStorage.getItem('edmo.returnTo');
  sessionStorage.removeItem('edmo.returnTo');
  location.hash = back && !back.startsWith('#/login') ? back : '#/assistants';
}
