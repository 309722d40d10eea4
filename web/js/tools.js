// Tools: list, create and edit (function / apiRequest / mcp), delete.
import { api, apiList } from './api.js';
import { h, field, can, messageBox, showMessage, showFormError, clearFormErrors, showVariant, loadingRow, emptyState, confirmDialog, pager, fmtDate, reload, takeFlash, isCurrent } from './ui.js';

const PAGE = 50;

function toolName(t) {
  return t.function?.name || t.name || t.server?.url || t.url || t.id;
}

export async function render(view, params, query, seq) {
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const writable = can('integrations', 'write');
  const msg = messageBox();
  const list = h('div.list', { id: 'tool-list' }, loadingRow());
  takeFlash(msg);
  view.append(h('h1', 'Tools'), msg);
  if (writable) view.append(toolForm(msg, null, seq));
  view.append(list);
  const { items, total } = await apiList('/tools', { limit: PAGE, offset });
  if (!isCurrent(seq)) return;
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
      writable && h('td.row-actions', h('a.button.secondary.small', { href: `#/tools/${encodeURIComponent(t.id)}`, 'aria-label': `Edit tool ${toolName(t)}` }, 'Edit'), ' ', h('button.danger.small', { type: 'button', 'aria-label': `Delete tool ${toolName(t)}`, onclick: async () => {
        if (!(await confirmDialog(`Delete the tool "${toolName(t)}"?`))) return;
        try { await api(`/tools/${encodeURIComponent(t.id)}`, { method: 'DELETE' }); if (isCurrent(seq)) reload('Tool deleted.'); }
        catch (e) { showMessage(msg, e.message, 'error'); }
      } }, 'Delete')))))));
  list.append(pager(total, offset, PAGE, (o) => { location.hash = `#/tools?offset=${o}`; }));
}

/** The edit page of one tool: the create form of its type, prefilled, sent as a JSON merge patch. */
export async function renderEdit(view, id, query, seq) {
  const writable = can('integrations', 'write');
  view.append(h('a.back', { href: '#/tools' }, '← Back to tools'), loadingRow());
  const t = await api(`/tools/${encodeURIComponent(id)}`);
  if (!isCurrent(seq)) return;
  view.querySelector('.loading')?.remove();
  const msg = messageBox();
  takeFlash(msg);
  view.append(h('h1', `Tool ${toolName(t)}`), h('p.meta', `ID: ${t.id} · ${t.type}`), msg);
  if (writable) view.append(toolForm(msg, t, seq));
  else view.append(h('pre.card.tool-json', JSON.stringify(t, null, 2)));
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The JSON merge patch (RFC 7396) that turns `a` into `b`. */
export function mergePatch(a, b) {
  const out = {};
  for (const k of Object.keys(a || {})) if (!(k in b)) out[k] = null;
  for (const [k, v] of Object.entries(b)) {
    const o = a ? a[k] : undefined;
    if (isObj(v) && isObj(o)) {
      const d = mergePatch(o, v);
      if (Object.keys(d).length) out[k] = d;
    } else if (JSON.stringify(o) !== JSON.stringify(v)) out[k] = v;
  }
  return out;
}

const SERVER_FIELDS = ['id', 'orgId', 'createdAt', 'updatedAt', 'providerId'];

/** Create form (existing null) or edit form (existing: the tool, its type fixed). */
function toolForm(msg, existing, seq) {
  const f = (label, kind, name, attrs = {}, options) => field(label, kind, { name, 'data-field': name, ...attrs }, options);
  const e = existing || {};
  const fn = e.function || {};
  const typeSel = f('Type', 'select', 'type', { id: 'tool-type', value: e.type, disabled: !!existing }, [['function', 'Function (your server is called)'], ['apiRequest', 'API request'], ['mcp', 'MCP server']]);
  const keepSecret = existing && e.type === 'function' ? { placeholder: 'Leave empty to keep the stored secret' } : {};
  const groups = {
    function: h('div.group', { 'data-type': 'function' },
      f('Function name', 'input', 'function.name', { pattern: '[A-Za-z0-9_-]{1,64}', value: fn.name ?? '' }),
      f('Description', 'textarea', 'function.description', { rows: 2, value: fn.description ?? '' }),
      f('Parameters (JSON schema)', 'textarea', 'function.parameters', { rows: 4, value: fn.parameters ? JSON.stringify(fn.parameters, null, 2) : '{"type": "object", "properties": {}, "required": []}' }),
      f('Server URL', 'input', 'server.url', { type: 'url', placeholder: 'https://', value: e.type === 'function' ? (e.server?.url ?? '') : '' }),
      f('Server secret', 'input', 'server.secret', { type: 'password', autocomplete: 'new-password', ...keepSecret })),
    apiRequest: h('div.group', { 'data-type': 'apiRequest' },
      f('Name', 'input', 'name', { value: e.type === 'apiRequest' ? (e.name ?? '') : '' }),
      f('Method', 'select', 'method', { value: e.method ?? 'GET' }, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
      f('URL', 'input', 'url', { type: 'url', placeholder: 'https://', value: e.url ?? '' })),
    mcp: h('div.group', { 'data-type': 'mcp' },
      f('Name', 'input', 'name', { value: e.type === 'mcp' ? (e.name ?? '') : '' }),
      f('MCP server URL', 'input', 'server.url', { type: 'url', placeholder: 'https://', value: e.type === 'mcp' ? (e.server?.url ?? '') : '' })),
  };
  const form = h('form.card', { id: 'tool-form', novalidate: true, 'data-mode': existing ? 'edit' : 'create' },
    h('h2', existing ? 'Edit tool' : 'New tool'), typeSel, f('Provider label (optional)', 'input', 'provider', { maxlength: 100, value: e.provider ?? '' }),
    Object.values(groups), h('div.actions',
      existing && h('a.button.secondary', { href: '#/tools' }, 'Cancel'),
      h('button', { type: 'submit', id: existing ? 'save-tool' : 'create-tool' }, existing ? 'Save changes' : 'Create tool')));
  const sel = typeSel.querySelector('select');
  showVariant(sel, groups);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    showMessage(msg, '');
    const g = groups[sel.value];
    const v = (name) => g.querySelector(`[data-field="${name}"]`).value.trim();
    // The tool as the form describes it (fields the form does not show are kept as they are).
    const want = existing ? structuredClone(existing) : { type: sel.value };
    for (const k of SERVER_FIELDS) delete want[k];
    const label = form.querySelector('[data-field="provider"]').value.trim();
    if (label) want.provider = label; else delete want.provider;
    let secret;
    if (sel.value === 'function') {
      let parameters;
      try { parameters = JSON.parse(v('function.parameters') || '{}'); } catch {
        showFormError(form, { message: 'Invalid value for field: function.parameters (not valid JSON)' }, msg);
        return;
      }
      want.function = { ...(want.function || {}), name: v('function.name'), description: v('function.description'), parameters };
      secret = v('server.secret');
      if (v('server.url')) want.server = { ...(want.server || {}), url: v('server.url') };
      else delete want.server;
    } else if (sel.value === 'apiRequest') {
      Object.assign(want, { method: v('method'), url: v('url') });
      if (v('name')) want.name = v('name'); else delete want.name;
    } else {
      want.server = { ...(want.server || {}), url: v('server.url') };
      if (v('name')) want.name = v('name'); else delete want.name;
    }
    // server.secret is write-only: sent only when typed; a patch that does not mention it keeps it.
    let body;
    if (existing) {
      const before = structuredClone(existing);
      for (const k of SERVER_FIELDS) delete before[k];
      body = mergePatch(before, want);
      if (secret && want.server) body.server = { ...(body.server || {}), secret };
    } else {
      body = want;
      if (secret && want.server) body.server.secret = secret;
    }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      if (existing) {
        await api(`/tools/${encodeURIComponent(existing.id)}`, { method: 'PATCH', body });
        if (!isCurrent(seq)) return;
        sessionStorage.setItem('edmo.flash', 'Tool saved.');
        location.hash = '#/tools';
      } else {
        await api('/tools', { method: 'POST', body });
        if (!isCurrent(seq)) return;
        reload('Tool created.');
      }
    } catch (err) {
      // The field may exist in several groups: look in the visible one.
      showFormError(wrap(form, g), err, msg);
    } finally {
      btn.disabled = false;
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
