// Assistants: list (search + paging), create/edit form, knowledge base.
import { api, apiList } from './api.js';
import { h, field, can, messageBox, showMessage, showFormError, clearFormErrors, loadingRow, emptyState, confirmDialog, pager, fmtDate, takeFlash, isCurrent } from './ui.js';

const PAGE = 20;
const FIRST_MESSAGE_MODES = ['assistant-speaks-first', 'assistant-waits-for-user', 'assistant-speaks-first-with-model-generated-message'];
const VOICES = ['11labs', 'azure', 'cartesia', 'deepgram', 'playht', 'openai', 'edmo'];
const TRANSCRIBERS = ['deepgram', 'assemblyai', 'whisper'];

export async function renderList(view, params, query, seq) {
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const writable = can('agents', 'write');
  const search = h('input', { type: 'search', id: 'assistant-search', placeholder: 'Filter this page by name' });
  const list = h('div.list', loadingRow());
  view.append(
    h('div.toolbar',
      h('h1', 'Assistants'),
      writable && h('a.button', { href: '#/assistants/new', id: 'new-assistant' }, 'New assistant')),
    h('div.field.inline', h('label', { for: 'assistant-search' }, 'Search'), search),
    list);
  const { items, total } = await apiList('/assistants', { limit: PAGE, offset });
  if (!isCurrent(seq)) return;
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const shown = items.filter((a) => !q || (a.name || '').toLowerCase().includes(q) || a.id.toLowerCase().includes(q));
    list.replaceChildren();
    if (!shown.length) {
      list.append(emptyState(items.length ? 'No assistant on this page matches the search.' : 'No assistants yet.' + (writable ? ' Create the first one.' : '')));
    } else {
      list.append(h('table.data',
        h('caption.sr-only', 'Assistants'),
        h('thead', h('tr', h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Model'), h('th', { scope: 'col' }, 'Voice'), h('th', { scope: 'col' }, 'Updated'))),
        h('tbody', shown.map((a) => h('tr', { 'data-id': a.id },
          h('td', h('a', { href: `#/assistants/${encodeURIComponent(a.id)}` }, a.name || '(unnamed)')),
          h('td', `${a.model?.provider || ''} ${a.model?.model || ''}`),
          h('td', a.voice ? `${a.voice.provider || ''} ${a.voice.voiceId || ''}` : ''),
          h('td', fmtDate(a.updatedAt)))))));
    }
    list.append(pager(total, offset, PAGE, (o) => { location.hash = `#/assistants?offset=${o}`; }));
  };
  search.addEventListener('input', draw);
  draw();
}

function num(v) {
  return v === '' ? undefined : Number(v);
}

function formFields(a) {
  const writable = can('agents', 'write');
  const dis = writable ? {} : { disabled: true };
  const sys = (a?.model?.messages || []).find((m) => m.role === 'system');
  const f = (label, kind, name, attrs = {}, options) => field(label, kind, { name, 'data-field': name, ...dis, ...attrs }, options);
  return [
    h('fieldset', h('legend', 'General'),
      f('Name', 'input', 'name', { value: a?.name ?? '', maxlength: 200 }),
      f('First message', 'textarea', 'firstMessage', { value: a?.firstMessage ?? '', rows: 2 }),
      f('First message mode', 'select', 'firstMessageMode', { value: a?.firstMessageMode ?? FIRST_MESSAGE_MODES[0] }, FIRST_MESSAGE_MODES),
      f('Max duration (seconds)', 'input', 'maxDurationSeconds', { type: 'number', value: a?.maxDurationSeconds ?? '', step: 1 }),
      f('End call phrases (comma-separated)', 'input', 'endCallPhrases', { value: (a?.endCallPhrases || []).join(', ') }),
      f('Background sound', 'select', 'backgroundSound', { value: a?.backgroundSound ?? '' }, [['', '(not set)'], ['off', 'Off'], ['office', 'Office']]),
      recordingField(a, dis)),
    h('fieldset', h('legend', 'Model'),
      f('Model provider', 'select', 'model.provider', { value: a?.model?.provider ?? 'openai' }, ['openai', 'anthropic']),
      f('Model', 'input', 'model.model', { value: a?.model?.model ?? 'gpt-4o', required: true }),
      f('Temperature', 'input', 'model.temperature', { type: 'number', step: 'any', value: a?.model?.temperature ?? '' }),
      f('Max tokens', 'input', 'model.maxTokens', { type: 'number', step: 1, value: a?.model?.maxTokens ?? '' }),
      f('System prompt', 'textarea', 'model.messages', { rows: 5, value: sys ? sys.content : '' })),
    h('fieldset', h('legend', 'Voice and transcriber'),
      f('Voice provider', 'select', 'voice.provider', { value: a?.voice?.provider ?? '11labs' }, VOICES),
      f('Voice ID', 'input', 'voice.voiceId', { value: a?.voice?.voiceId ?? '' }),
      f('Transcriber provider', 'select', 'transcriber.provider', { value: a?.transcriber?.provider ?? '' }, [['', '(none)'], ...TRANSCRIBERS]),
      f('Transcriber model', 'input', 'transcriber.model', { value: a?.transcriber?.model ?? '' })),
  ];
}

/** A checkbox whose value is sent only once the user has changed it (data-touched). */
function recordingField(a, dis) {
  const box = h('input', { type: 'checkbox', id: 'assistant-recording', name: 'recordingEnabled', 'data-field': 'recordingEnabled', ...dis });
  box.checked = a?.recordingEnabled === true;
  box.addEventListener('change', () => { box.dataset.touched = 'true'; });
  const err = h('p.field-error', { id: 'assistant-recording-error', 'aria-live': 'polite' });
  box.setAttribute('aria-describedby', err.id);
  return h('div.field.check', h('label', { for: box.id }, box, ' Record calls'), err);
}

function readForm(form, existing) {
  const v = (name) => form.querySelector(`[data-field="${name}"]`).value;
  const body = {
    name: v('name').trim() || (existing ? null : undefined),
    firstMessage: v('firstMessage') || (existing ? null : undefined),
    firstMessageMode: v('firstMessageMode'),
    maxDurationSeconds: num(v('maxDurationSeconds')) ?? (existing ? null : undefined),
    endCallPhrases: v('endCallPhrases').split(',').map((s) => s.trim()).filter(Boolean),
    model: {
      provider: v('model.provider'),
      model: v('model.model').trim(),
      temperature: num(v('model.temperature')) ?? (existing ? null : undefined),
      maxTokens: num(v('model.maxTokens')) ?? (existing ? null : undefined),
    },
    voice: { provider: v('voice.provider'), voiceId: v('voice.voiceId').trim() || (existing ? null : undefined) },
  };
  const sound = v('backgroundSound');
  if (sound) body.backgroundSound = sound;
  else if (existing?.backgroundSound) body.backgroundSound = null;
  const rec = form.querySelector('[data-field="recordingEnabled"]');
  if (rec.dataset.touched) body.recordingEnabled = rec.checked;
  const prompt = v('model.messages').trim();
  const others = (existing?.model?.messages || []).filter((m) => m.role !== 'system');
  body.model.messages = prompt ? [{ role: 'system', content: prompt }, ...others] : (existing ? (others.length ? others : null) : undefined);
  const tp = v('transcriber.provider');
  if (tp) body.transcriber = { provider: tp, model: v('transcriber.model').trim() || (existing ? null : undefined) };
  else if (existing?.transcriber) body.transcriber = null;
  return body;
}

export async function renderDetail(view, id, query, seq) {
  const writable = can('agents', 'write');
  view.append(loadingRow());
  const a = id ? await api(`/assistants/${encodeURIComponent(id)}`) : null;
  if (!isCurrent(seq)) return;
  view.replaceChildren();
  const msg = messageBox();
  const form = h('form.card.assistant-form', { id: 'assistant-form', novalidate: true }, msg, formFields(a));
  if (writable) {
    form.append(h('div.actions',
      h('button', { type: 'submit', id: 'save-assistant' }, id ? 'Save changes' : 'Create assistant'),
      id && h('button.danger', { type: 'button', id: 'delete-assistant', onclick: () => remove(a, seq) }, 'Delete assistant')));
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    showMessage(msg, '');
    const body = readForm(form, a);
    const btn = form.querySelector('#save-assistant');
    btn.disabled = true;
    try {
      if (id) {
        await api(`/assistants/${encodeURIComponent(id)}`, { method: 'PATCH', body });
        showMessage(msg, 'Saved.', 'success');
      } else {
        const created = await api('/assistants', { method: 'POST', body });
        if (!isCurrent(seq)) return;
        sessionStorage.setItem('edmo.flash', 'Assistant created.');
        location.hash = `#/assistants/${encodeURIComponent(created.id)}`;
      }
    } catch (e) {
      showFormError(form, e, msg);
    } finally {
      btn.disabled = false;
    }
  });
  takeFlash(msg);
  // Node.append (unlike h) writes null and false as text: only nodes go to it.
  view.append(
    h('div.toolbar', h('h1', id ? (a.name || 'Assistant') : 'New assistant'),
      id && can('chat', 'use') && h('a.button.secondary', { href: `#/chat?assistantId=${encodeURIComponent(id)}` }, 'Chat with it')));
  if (id) view.append(h('p.meta', `ID: ${a.id}`));
  view.append(form);
  if (id) view.append(knowledgeSection(a.id, seq));
}

async function remove(a, seq) {
  if (!(await confirmDialog(`Delete the assistant "${a.name || a.id}"? Phone numbers using it are detached.`))) return;
  await api(`/assistants/${encodeURIComponent(a.id)}`, { method: 'DELETE' });
  if (!isCurrent(seq)) return;
  location.hash = '#/assistants';
}

function knowledgeSection(assistantId, seq) {
  const writable = can('agents', 'write');
  const base = `/assistants/${encodeURIComponent(assistantId)}/knowledge`;
  const list = h('div.list', { id: 'knowledge-list' }, loadingRow());
  const msg = messageBox();
  const section = h('section.card', { id: 'knowledge', 'aria-labelledby': 'knowledge-title' },
    h('h2#knowledge-title', 'Knowledge base'), msg, list);
  let offset = 0;
  const PAGE_K = 50;

  async function load() {
    list.replaceChildren(loadingRow());
    const { items, total } = await apiList(base, { limit: PAGE_K, offset });
    if (!isCurrent(seq)) return;
    list.replaceChildren();
    if (!items.length) list.append(emptyState('No knowledge entries yet.'));
    else list.append(h('ul.entries', items.map((k) => entryItem(k))));
    list.append(pager(total, offset, PAGE_K, (o) => { offset = o; load().catch((e) => showMessage(msg, e.message, 'error')); }));
  }

  function entryItem(k) {
    const li = h('li.entry', { 'data-id': k.id });
    const show = () => {
      li.replaceChildren(
        h('div.entry-text', h('strong', k.title), h('p', k.content),
          (k.questions || []).length ? h('p.meta.questions', `Also asked as: ${k.questions.join(' · ')}`) : null));
      if (writable) li.append(h('div.entry-actions',
          h('button.secondary.small.edit', { type: 'button', 'aria-label': `Edit entry ${k.title}`, onclick: edit }, 'Edit'),
          h('button.danger.small', { type: 'button', 'aria-label': `Delete entry ${k.title}`, onclick: async () => {
            if (!(await confirmDialog(`Delete the entry "${k.title}"?`))) return;
            try { await api(`${base}/${encodeURIComponent(k.id)}`, { method: 'DELETE' }); await load(); }
            catch (e) { showMessage(msg, e.message, 'error'); }
          } }, 'Delete')));
    };
    const edit = () => {
      const form = h('form.knowledge-edit', { novalidate: true, 'aria-label': `Edit entry ${k.title}` },
        field('Title', 'input', { name: 'title', 'data-field': 'title', maxlength: 200, value: k.title }),
        field('Content', 'textarea', { name: 'content', 'data-field': 'content', rows: 3, value: k.content }),
        field('Other ways to ask it (one per line)', 'textarea', { name: 'questions', 'data-field': 'questions', rows: 2, value: (k.questions || []).join('\n') }),
        h('div.actions',
          h('button.secondary', { type: 'button', onclick: () => { show(); li.querySelector('button.edit')?.focus(); } }, 'Cancel'),
          h('button', { type: 'submit' }, 'Save entry')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearFormErrors(form);
        showMessage(msg, '');
        const questions = form.elements.questions.value.split(/\r?\n/).map((q) => q.trim()).filter(Boolean);
        const body = { title: form.elements.title.value.trim(), content: form.elements.content.value.trim(), questions: questions.length ? questions : null };
        try {
          k = await api(`${base}/${encodeURIComponent(k.id)}`, { method: 'PATCH', body });
          show();
          showMessage(msg, 'Entry saved.', 'success');
        } catch (e) { showFormError(form, e, msg); }
      });
      li.replaceChildren(form);
      form.elements.title.focus();
    };
    show();
    return li;
  }

  if (writable) {
    const add = h('form.knowledge-add', { id: 'knowledge-form', novalidate: true },
      h('h3', 'Add an entry'),
      field('Title', 'input', { name: 'title', 'data-field': 'title', maxlength: 200 }),
      field('Content', 'textarea', { name: 'content', 'data-field': 'content', rows: 3 }),
      h('button', { type: 'submit' }, 'Add entry'));
    add.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearFormErrors(add);
      showMessage(msg, '');
      try {
        await api(base, { method: 'POST', body: { title: add.title.value.trim(), content: add.content.value.trim() } });
        add.reset();
        showMessage(msg, 'Entry added.', 'success');
        offset = 0;
        await load();
      } catch (e) { showFormError(add, e, msg); }
    });
    const imp = h('form.knowledge-import', { id: 'knowledge-import-form', novalidate: true },
      h('h3', 'Bulk import'),
      field('Paste a JSON list of {"title","content"} or CSV lines "title,content"', 'textarea', { name: 'bulk', rows: 4 }),
      field('…or choose a CSV or JSON file (used instead of the pasted text)', 'input',
        { type: 'file', name: 'bulkFile', id: 'knowledge-import-file', accept: '.csv,.json,text/csv,application/json' }),
      h('button.secondary', { type: 'submit' }, 'Import'));
    imp.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showMessage(msg, '');
      let entries;
      try {
        const file = imp.bulkFile.files[0];
        let text = imp.bulk.value;
        if (file) {
          try { text = await file.text(); } catch { throw new Error(`The file ${file.name} cannot be read.`); }
          if (!text.trim()) throw new Error(`The file ${file.name} is empty.`);
        }
        entries = parseBulk(text);
      } catch (e) { showMessage(msg, e.message, 'error'); return; }
      try {
        const r = await api(`${base}/import`, { method: 'POST', body: { entries } });
        imp.reset();
        showMessage(msg, `Imported ${r.imported} ${r.imported === 1 ? 'entry' : 'entries'}.`, 'success');
        offset = 0;
        await load();
      } catch (e) { showMessage(msg, e.message, 'error'); }
    });
    section.append(h('div.two-col', add, imp));
  }
  load().catch((e) => showMessage(msg, e.message, 'error'));
  return section;
}

/** JSON array of {title, content[, questions]} or CSV "title,content" lines (quotes allowed). */
export function parseBulk(text) {
  const t = text.trim();
  if (!t) throw new Error('Paste some entries or choose a file first.');
  if (t.startsWith('[')) {
    let data;
    try { data = JSON.parse(t); } catch { throw new Error('The JSON list cannot be read.'); }
    if (!Array.isArray(data)) throw new Error('Expected a JSON list.');
    return data;
  }
  const entries = [];
  for (const [i, line] of t.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const cells = parseCsvLine(line);
    if (cells.length < 2) throw new Error(`Line ${i + 1}: expected "title,content".`);
    if (i === 0 && cells[0].trim().toLowerCase() === 'title' && cells[1].trim().toLowerCase() === 'content') continue;
    entries.push({ title: cells[0].trim(), content: cells.slice(1).join(',').trim() });
  }
  if (!entries.length) throw new Error('No entries found.');
  return entries;
}

function parseCsvLine(line) {
  const cells = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { cells.push(cur); cur = ''; }
    else cur += c;
  }
  cells.push(cur);
  return cells;
}
