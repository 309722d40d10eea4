// Entry point: session bootstrap, header and hash router.
import { api } from './api.js';
import { session, can, startNavigation, isCurrent } from './ui.js';
import * as login from './login.js';
import * as assistants from './assistants.js';
import * as chat from './chat.js';
import * as gaps from './gaps.js';
import * as tools from './tools.js';
import * as phones from './phones.js';
import * as analytics from './analytics.js?v=2';
import * as audit from './audit.js';
import * as settings from './settings.js';
import * as webhooks from './webhooks.js';
import * as users from './users.js';
import * as keys from './keys.js';
import * as account from './account.js';

const routes = [
  [/^login$/, login.render, 'login'],
  [/^assistants$/, assistants.renderList, 'assistants'],
  [/^assistants\/new$/, (v, p, q, seq) => assistants.renderDetail(v, null, q, seq), 'assistants'],
  [/^assistants\/([^/]+)$/, (v, p, q, seq) => assistants.renderDetail(v, p[0], q, seq), 'assistants'],
  [/^chat$/, chat.render, 'chat'],
  [/^gaps$/, gaps.render, 'gaps'],
  [/^tools$/, tools.render, 'tools'],
  [/^tools\/([^/]+)$/, (v, p, q, seq) => tools.renderEdit(v, p[0], q, seq), 'tools'],
  [/^phone-numbers$/, phones.render, 'phone-numbers'],
  [/^analytics$/, analytics.renderDashboard, 'analytics'],
  [/^analytics\/conversations\/([^/]+)$/, (v, p, q, seq) => analytics.renderConversation(v, p[0], q, seq), 'analytics'],
  [/^audit$/, audit.render, 'audit'],
  [/^settings$/, settings.render, 'settings'],
  [/^webhooks$/, webhooks.render, 'webhooks'],
  // Issue 15: an admin's pages (each shows "not allowed" to other roles) and everyone's account.
  [/^users$/, users.render, 'users'],
  [/^analytics-keys$/, keys.render, 'analytics-keys'],
  [/^account$/, account.render, 'account'],
];

// app.js is the only entry point and must not be imported by other modules (it would be
// loaded a second time under its URL without ?v=N, with a second router). Raise N in index.html when
// app.js changes: browsers keep it for 30 days.
// Every view gets the navigation's seq and, after each await, returns at once when !isCurrent(seq)
// (ui.js): a slow answer must not land on the page the user has moved to since.

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  return { path: decodeURIComponent(path || ''), query: new URLSearchParams(qs || '') };
}

function renderHeader() {
  const header = document.getElementById('app-header');
  const user = session.user;
  header.hidden = !user;
  if (!user) return;
  document.getElementById('user-name').textContent = user.name ? `${user.name} (${user.email})` : user.email;
  document.getElementById('user-role').textContent = user.role;
  const org = document.getElementById('user-org');
  org.textContent = user.organization?.name || '';
  org.hidden = !org.textContent;
  org.title = user.organization?.name ? `Organisation: ${user.organization.name}` : '';
  for (const a of document.querySelectorAll('#nav [data-perm]')) {
    const [area, perm] = a.dataset.perm.split(':');
    a.hidden = !can(area, perm);
  }
}

async function route() {
  const seq = startNavigation();
  const { path, query } = parseHash();
  const view = document.getElementById('view');
  if (!session.user && path !== 'login') {
    try {
      session.user = (await api('/auth/me')).user;
    } catch (e) {
      if (e.status !== 401) {
        view.textContent = `The dashboard cannot load: ${e.message}`;
      }
      return; // api.js sent a 401 to #/login
    }
    if (!isCurrent(seq)) return;
  }
  if (path === '' || (session.user && path === 'login')) {
    location.replace('#/assistants');
    return;
  }
  renderHeader();
  const match = routes.map(([re, fn, nav]) => [re.exec(path), fn, nav]).find(([m]) => m);
  for (const a of document.querySelectorAll('#nav a, #account-link')) {
    if (match && a.dataset.nav === match[2]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  view.replaceChildren();
  view.dataset.view = match ? match[2] : 'not-found';
  if (!match) {
    view.textContent = 'Page not found.';
    return;
  }
  try {
    await match[1](view, match[0].slice(1), query, seq);
  } catch (e) {
    if (e.status === 401) return;
    if (isCurrent(seq)) {
      const p = document.createElement('p');
      p.className = 'message error';
      p.setAttribute('role', 'alert');
      p.textContent = e.message;
      view.append(p);
    }
  }
}

document.getElementById('sign-out').addEventListener('click', async () => {
  try { await api('/auth/logout', { method: 'POST' }); } catch { /* signed out anyway */ }
  session.user = null;
  sessionStorage.removeItem('edmo.returnTo');
  renderHeader();
  location.hash = '#/login';
});

window.addEventListener('hashchange', route);
route();
