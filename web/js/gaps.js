// Knowledge gaps: pending questions, highest priority first, each answerable.
import { api, apiList } from './api.js';
import { h, can, messageBox, showMessage, loadingRow, emptyState, fmtDate, isCurrent } from './ui.js';

const RANK = { high: 0, medium: 1, low: 2 };

export async function render(view, params, query, seq) {
  const msg = messageBox();
  const list = h('div.list', { id: 'gap-list' }, loadingRow());
  view.append(h('h1', 'Knowledge gaps'), h('p.meta', 'Questions the assistants could not answer. An answer becomes a knowledge entry.'), msg, list);
  const [{ items }, assistants] = await Promise.all([
    apiList('/knowledge-gaps', { status: 'pending', limit: 1000 }),
    apiList('/assistants', { limit: 1000 }).catch(() => ({ items: [] })),
  ]);
  if (!isCurrent(seq)) return;
  const names = Object.fromEntries(assistants.items.map((a) => [a.id, a.name || a.id]));
  items.sort((a, b) => (RANK[a.priority] - RANK[b.priority]) || (b.occurrences - a.occurrences));
  list.replaceChildren();
  if (!items.length) {
    list.append(emptyState('No pending knowledge gaps. Well done!'));
    return;
  }
  const writable = can('agents', 'write');
  list.append(h('ul.gaps', items.map((g) => {
    const li = h('li.card.gap', { 'data-id': g.id },
      h('div.gap-head', h(`span.badge.priority-${g.priority}`, g.priority), h('strong', g.question)),
      h('p.meta', `${names[g.assistantId] || g.assistantId} · asked ${g.occurrences}× · last ${fmtDate(g.updatedAt)}`));
    if (writable) {
      const id = `answer-${g.id}`;
      const form = h('form.gap-form', { novalidate: true },
        h('label', { for: id }, `Answer to "${g.question}"`),
        h('textarea', { id, name: 'answer', rows: 2, required: true }),
        h('button', { type: 'submit' }, 'Resolve'));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const answer = form.answer.value.trim();
        if (!answer) { showMessage(msg, 'Write an answer first.', 'error'); return; }
        try {
          await api(`/knowledge-gaps/${encodeURIComponent(g.id)}/resolve`, { method: 'POST', body: { answer } });
          li.remove();
          showMessage(msg, `Resolved: "${g.question}" is now in the knowledge base.`, 'success');
          if (!list.querySelector('.gap')) list.replaceChildren(emptyState('No pending knowledge gaps. Well done!'));
        } catch (e) { showMessage(msg, e.message, 'error'); }
      });
      li.append(form);
    }
    return li;
  })));
}
