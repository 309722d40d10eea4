// Chat panel: pick an assistant, talk to it; chatId is sent back as previousChatId. Answers are streamed
// (Server-Sent Events) and shown as they arrive.
import { api, apiList } from './api.js';
import { apiStream } from './stream.js';
import { h, field, can, messageBox, showMessage, loadingRow, emptyState, isCurrent } from './ui.js';

export async function render(view, params, query, seq) {
  view.append(h('h1', 'Chat'));
  if (!can('chat', 'use')) {
    view.append(emptyState('Your role cannot use the chat.'));
    return;
  }
  const loading = loadingRow();
  view.append(loading);
  const { items } = await apiList('/assistants', { limit: 1000 });
  if (!isCurrent(seq)) return;
  loading.remove();
  if (!items.length) {
    view.append(emptyState('No assistants yet. Create one first.'));
    return;
  }
  const wanted = query.get('assistantId');
  const picker = field('Assistant', 'select', { id: 'chat-assistant', value: items.some((a) => a.id === wanted) ? wanted : items[0].id },
    items.map((a) => [a.id, a.name || a.id]));
  const log = h('ol.chat-log', { id: 'chat-log', 'aria-live': 'polite', 'aria-label': 'Conversation' });
  const status = h('p.meta', { id: 'chat-id' });
  const msg = messageBox();
  const input = h('textarea', { id: 'chat-message', name: 'message', rows: 2, maxlength: 4000 });
  const send = h('button', { type: 'submit', id: 'chat-send' }, 'Send');
  const form = h('form.chat-form', { id: 'chat-form' },
    h('div.field', h('label', { for: 'chat-message' }, 'Your message'), input), send);
  const restart = h('button.secondary', { type: 'button', id: 'chat-new' }, 'New conversation');
  const end = h('button.secondary', { type: 'button', id: 'chat-end', disabled: true }, 'End conversation');
  let chatId = null;

  function reset() {
    chatId = null;
    log.replaceChildren();
    log.append(h('li.empty-chat', 'Say hello to start a conversation.'));
    status.textContent = 'New conversation';
    delete status.dataset.chatId;
    end.disabled = true;
    showMessage(msg, '');
  }
  function addMessage(role, text) {
    log.querySelector('.empty-chat')?.remove();
    const body = h('span.text', text);
    const li = h(`li.bubble.${role}`, h('span.sr-only', role === 'user' ? 'You: ' : 'Assistant: '), body);
    log.append(li);
    li.scrollIntoView({ block: 'nearest' });
    return body;
  }
  function showChat(id) {
    chatId = id;
    status.textContent = `Conversation ${chatId} · ${log.querySelectorAll('.bubble.user').length} turn(s)`;
    status.dataset.chatId = chatId;
    end.disabled = false;
  }

  picker.querySelector('select').addEventListener('change', reset);
  restart.addEventListener('click', reset);
  end.addEventListener('click', async () => {
    if (!chatId) return;
    end.disabled = true;
    try {
      const r = await api(`/chat/${encodeURIComponent(chatId)}/end`, { method: 'POST' });
      const outcome = [r.resolution, r.sentiment].filter(Boolean).join(', ');
      showMessage(msg, `Conversation ended${outcome ? ` (${outcome})` : ''}. It now counts in Analytics.`, 'success');
    } catch (e) {
      end.disabled = false;
      showMessage(msg, e.message, 'error');
    }
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    showMessage(msg, '');
    addMessage('user', text);
    input.value = '';
    send.disabled = true;
    send.textContent = 'Sending…';
    const pending = h('li.bubble.assistant.typing', 'The assistant is typing…');
    log.append(pending);
    let reply = null;
    let outcome = null;
    try {
      const body = { assistantId: picker.querySelector('select').value, message: text, stream: true };
      if (chatId) body.previousChatId = chatId;
      await apiStream('/chat', body, (name, data) => {
        if (name === 'chat') {
          showChat(data.chatId);
        } else if (name === 'delta') {
          if (!reply) {
            pending.remove();
            reply = addMessage('assistant', '');
            reply.parentElement.classList.add('streaming');
            reply.parentElement.setAttribute('aria-busy', 'true');
          }
          reply.textContent += data.text;
          reply.parentElement.scrollIntoView({ block: 'nearest' });
        } else if (name === 'done' || name === 'error') {
          outcome = { name, data };
        }
      });
      pending.remove();
      if (outcome?.name === 'done') {
        if (!reply) reply = addMessage('assistant', '');
        reply.textContent = outcome.data.message;  // the stored text (the deltas, joined)
      } else {
        // The partial text is not what the conversation keeps: drop it and say why.
        reply?.parentElement.remove();
        showMessage(msg, outcome ? outcome.data.error
          : 'The connection was lost before the answer ended; it is saved in the conversation.', 'error');
      }
    } catch (e) {
      pending.remove();
      reply?.parentElement.remove();
      showMessage(msg, e.message, 'error');
    } finally {
      reply?.parentElement.classList.remove('streaming');
      reply?.parentElement.removeAttribute('aria-busy');
      send.disabled = false;
      send.textContent = 'Send';
      input.focus();
    }
  });
  view.append(h('section.card.chat', picker, h('div.toolbar', status, h('div.actions', end, restart)), log, msg, form));
  reset();
}
