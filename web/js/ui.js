// Small DOM helpers shared by the views.

export const session = { user: null };

let navigation = 0;
/** Starts a navigation (the router calls it once per route change); returns its number. */
export function startNavigation() {
  return ++navigation;
}
/** Whether navigation `seq` is still the one on screen. A view checks it after each await of its rendering,
 *  and its handlers before they navigate (reload, location.hash), and stops when it is not: the user has
 *  moved on, and a late answer must not land on the page shown now. */
export function isCurrent(seq) {
  return seq === navigation;
}

/** Whether the signed-in user has `perm` (e.g. "write") on `area` (e.g. "agents"). */
export function can(area, perm) {
  const perms = session.user && session.user.permissions;
  return !!(perms && Array.isArray(perms[area]) && perms[area].includes(perm));
}

/** h('tag.class#id', {attrs}, ...children) */
export function h(spec, attrs, ...children) {
  const [, tag, rest] = spec.match(/^([a-z0-9]+)(.*)$/i);
  const el = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

let uid = 0;
/** A labelled form control. kind: input|select|textarea. */
export function field(label, kind, attrs = {}, options) {
  const id = attrs.id || `f${++uid}`;
  let control;
  if (kind === 'select') {
    control = h('select', { ...attrs, id });
    for (const o of options) {
      const [value, text] = Array.isArray(o) ? o : [o, o];
      control.append(h('option', { value }, text));
    }
    if (attrs.value !== undefined) control.value = attrs.value;
  } else {
    control = h(kind, { ...attrs, id });
  }
  const err = h('p.field-error', { id: id + '-error', 'aria-live': 'polite' });
  control.setAttribute('aria-describedby', err.id);
  return h('div.field', h('label', { for: id }, label), control, err);
}

/** Shows `err` next to the control whose data-field matches the field the API named, else in `fallback`. */
export function showFormError(form, err, fallback) {
  clearFormErrors(form);
  const m = /field:\s*([A-Za-z0-9_.\[\]]+)/.exec(err.message || '');
  let shown = false;
  let path = m ? m[1] : '';
  while (path && !shown) {
    const control = form.querySelector(`[data-field="${CSS.escape(path)}"]`);
    if (control) {
      const box = control.closest('.field');
      box.classList.add('invalid');
      control.setAttribute('aria-invalid', 'true');
      box.querySelector('.field-error').textContent = err.message;
      control.focus();
      shown = true;
    }
    const shorter = path.replace(/(\[\d+\]|\.[^.\[]+)$/, '');
    path = shorter === path ? '' : shorter;
  }
  if (!shown) showMessage(fallback, err.message, 'error');
}

/** Shows the fieldset group of the chosen variant (select value -> group) and disables the others' fields,
 *  so only the chosen variant is validated and sent. */
export function showVariant(select, groups) {
  const sync = () => {
    for (const [key, group] of Object.entries(groups)) {
      group.hidden = key !== select.value;
      group.querySelectorAll('input, select, textarea').forEach((c) => { c.disabled = key !== select.value; });
    }
  };
  select.addEventListener('change', sync);
  sync();
}

export function clearFormErrors(form) {
  form.querySelectorAll('.field.invalid').forEach((b) => b.classList.remove('invalid'));
  form.querySelectorAll('[aria-invalid]').forEach((c) => c.removeAttribute('aria-invalid'));
  form.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
}

/** kind: info|error|success */
export function showMessage(box, text, kind = 'info') {
  if (!box) return;
  box.className = `message ${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.textContent = text;
  box.hidden = !text;
}

export function messageBox() {
  const box = h('div.message');
  box.hidden = true;
  return box;
}

export function loadingRow(text = 'Loading…') {
  return h('p.loading', { role: 'status' }, text);
}

export function emptyState(text) {
  return h('p.empty', text);
}

/** A <dialog>-based confirmation; resolves true when confirmed. */
export function confirmDialog(message, okLabel = 'Delete') {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-message').textContent = message;
  document.getElementById('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

/** Paging controls for limit/offset lists. */
export function pager(total, offset, limit, onPage) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  return h('div.pager',
    h('button.secondary', { type: 'button', disabled: offset <= 0, onclick: () => onPage(Math.max(0, offset - limit)) }, 'Previous'),
    h('span', { 'aria-live': 'polite' }, `${from}–${to} of ${total}`),
    h('button.secondary', { type: 'button', disabled: offset + limit >= total, onclick: () => onPage(offset + limit) }, 'Next'));
}

export function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? s : d.toLocaleString();
}

/** Re-renders the current view, showing `text` in its message box (see takeFlash). */
export function reload(text) {
  if (text) sessionStorage.setItem('edmo.flash', text);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function takeFlash(box) {
  const text = sessionStorage.getItem('edmo.flash');
  if (text) {
    sessionStorage.removeItem('edmo.flash');
    showMessage(box, text, 'success');
  }
}
