// What the admin pages share: the "not allowed" state, and a secret (a generated password, a new API key)
// shown once with a copy button. A secret lives only in this panel: never in the URL, storage or a flash.
import { h, can } from './ui.js';

/** Renders the "not allowed" state into `view` and returns true when the signed-in user is not an ADMIN. */
export function notAllowed(view, title) {
  if (can('users', 'write')) return false;
  view.append(h('h1', title),
    h('div.message.error#not-allowed', { role: 'alert' },
      h('strong', 'Not allowed. '),
      `Only an ADMIN of your organisation can open ${title}. Ask one of them if you need a change here.`));
  return true;
}

async function copyText(input) {
  input.focus();
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    // No clipboard permission (an older browser, a page not in focus): the selection still copies.
    try { return document.execCommand('copy'); } catch { return false; }
  }
}

/** A card showing `value` once: labelled, selectable, with a Copy button and the warning that it will
 *  not be shown again. `onDone` runs when the admin dismisses it. Focus moves to it, so it is read out. */
export function secretPanel({ id, title, label, value, note, onDone }) {
  const inputId = `${id}-value`;
  const input = h('input.secret-value', { id: inputId, type: 'text', readonly: true, value, spellcheck: 'false', autocomplete: 'off' });
  const status = h('p.copy-status', { id: `${id}-copied`, role: 'status', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', id: `${id}-copy`, onclick: async () => {
    status.textContent = (await copyText(input)) ? 'Copied to the clipboard.' : 'Select the text above and copy it.';
  } }, 'Copy');
  const heading = h('h2', { id: `${id}-title`, tabindex: '-1' }, title);
  const panel = h('section.card.secret', { id, 'aria-labelledby': heading.id },
    heading,
    h('p.secret-warning', h('strong', 'It will not be shown again. '), note),
    h('div.field', h('label', { for: inputId }, label), h('div.secret-row', input, copy)),
    status,
    h('div.actions', h('button.secondary', { type: 'button', id: `${id}-done`, onclick: () => {
      panel.remove();
      if (onDone) onDone();
    } }, 'Done, I have copied it')));
  queueMicrotask(() => heading.focus());
  return panel;
}
