// Tools: list, create (function / apiRequest / mcp), delete.
import { api, apiList } from './api.js';
import { h, field, can, messageBox, showMessage, showFormError, clearFormErrors, loadingRow, emptyState, confirmDialog, pager, fmtDate, reload, takeFlash } from './ui.js';

const PAGE = 50;

function toolName(t) {
  return t.function?.name || t.name || t.server?.url || t.url || t.id;
}

export async function render(view, params, query) {
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const writable = can('integrations', 'write');
  const msg = messageBox();
  const list = h('div.list', { id: 'tool-list' }, loadingRow());
  takeFlash(msg);
  view.append(h('h1', 'Tools'), msg);
  if (writable) view.append(createForm(msg));
  view.append(list);
  const { items, total } = await apiList('/tools', { limit: PAGE, offset });
  list.replaceChildren();
  if (!items.length) list.append(emptyState('No tools yet.'));
  else list.append(h('table.data',
    h('caption.sr-only', 'Tools'),
    h('thead', h('tr', ['Name', 'Type', 'Provider label', 'Target', 'Created', writable ? 'Actions' : null].filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', items.map((t) => h('tr', { 'data-id': t.id },
      h('td', toolName(t)),
      h('td', t.type),
      h('td', t.provider || ''),
      h('td.wrap', t.url ? `${t.method || ''} ${t.url}` : (t.server?.url || '')),
      h('td', fmtDate(t.createdAt)),
      writable && h('td', h('button.danger.small', { type: 'button', 'aria-label': `Delete tool ${toolName(t)}`, onclick: async () => {
        if (!(await confirmDialog(`Delete the tool "${toolName(t)}"?`))) return;
        try { await api(`/tools/${encodeURIComponent(t.id)}`, { method: 'DELETE' }); reload('Tool deleted.'); }
        catch (e) { showMessage(msg, e.message, 'error'); }
      } }, 'Delete')))))));
  list.append(pager(total, offset, PAGE, (o) => { location.hash = `#/tools?offset=${o}`; }));
}

function createForm(msg) {
  const f = (label, kind, name, attrs = {}, options) => field(label, kind, { name, 'data-field': name, ...attrs }, options);
  const typeSel = f('Type', 'select', 'type', { id: 'tool-type' }, [['function', 'Function (your server is called)'], ['apiRequest', 'API request'], ['mcp', 'MCP server']]);
  const groups = {
    function: h('div.group', { 'data-type': 'function' },
      f('Function name', 'input', 'function.name', { pattern: '[A-Za-z0-9_-]{1,64}' }),
      f('Description', 'textarea', 'function.description', { rows: 2 }),
      f('Parameters (JSON schema)', 'textarea', 'function.parameters', { rows: 4, value: '{"type": "object", "properties": {}, "required": []}' }),
      f('Server URL', 'input', 'server.url', { type: 'url', placeholder: 'https://' }),
      f('Server secret', 'input', 'server.secret', { type: 'password', autocomplete: 'new-password' })),
    apiRequest: h('div.group', { 'data-type': 'apiRequest' },
      f('Name', 'input', 'name'),
      f('Method', 'select', 'method', {}, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
      f('URL', 'input', 'url', { type: 'url', placeholder: 'https://' })),
    mcp: h('div.group', { 'data-type': 'mcp' },
      f('Name', 'input', 'name'),
      f('MCP server URL', 'input', 'server.url', { type: 'url', placeholder: 'https://' })),
  };
  const form = h('form.card', { id: 'tool-form', novalidate: true },
    h('h2', 'New tool'), typeSel, f('Provider label (optional)', 'input', 'provider', { maxlength: 100 }),
    Object.values(groups), h('div.actions', h('button', { type: 'submit', id: 'create-tool' }, 'Create tool')));
  const sel = typeSel.querySelector('select');
  const sync = () => {
    for (const [t, g] of Object.entries(groups)) {
      g.hidden = t !== sel.value;
      g.querySelectorAll('input, select, textarea').forEach((c) => { c.disabled = t !== sel.value; });
    }
  };
  sel.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    showMessage(msg, '');
    const g = groups[sel.value];
    const v = (name) => g.querySelector(`[data-field="${name}"]`).value.trim();
    const body = { type: sel.value };
    const label = form.querySelector('[data-field="provider"]').value.trim();
    if (label) body.provider = label;
    if (sel.value === 'function') {
      let parameters;
      try { parameters = JSON.parse(v('function.parameters') || '{}'); } catch {
        showFormError(form, { message: 'Invalid value for field: function.parameters (not valid JSON)' }, msg);
        return;
      }
      body.function = { name: v('function.name'), description: v('function.description'), parameters };
      if (v('server.url')) body.server = { url: v('server.url'), ...(v('server.secret') ? { secret: v('server.secret') } : {}) };
    } else if (sel.value === 'apiRequest') {
      Object.assign(body, { method: v('method'), url: v('url') });
      if (v('name')) body.name = v('name');
    } else {
      body.server = { url: v('server.url') };
      if (v('name')) body.name = v('name');
    }
    try {
      await api('/tools', { method: 'POST', body });
      reload('Tool created.');
    } catch (e) {
      // The field may exist in several groups: look in the visible one.
      showFormError(g.querySelector(`[data-field]`) ? wrap(form, g) : form, e, msg);
    }
  });
  return form;
}

function wrap(form, group) {
  // A form-like root where only the visible group plus the shared fields are searched.
  return {
    querySelector: (sel) => group.querySelector(sel) || form.querySelector(sel),
    querySelectorAll: (sel) => form.querySelectorAll(sel),
  };
}
