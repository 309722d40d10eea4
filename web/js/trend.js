// The analytics page's trend chart: conversations per step by outcome, stacked bars drawn as SVG (no library:
// the numbers stay in the DOM, where a screen reader's table and the browser tests read them).
import { h } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';
export const OUTCOMES = [['successful', 'Successful'], ['escalated', 'Escalated'], ['failed', 'Failed']];
const H = 240, LEFT = 44, RIGHT = 8, TOP = 12, BOTTOM = 34;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

const dateFmt = (options) => new Intl.DateTimeFormat(undefined, { ...options, timeZone: 'UTC' });
const fmt = {
  day: dateFmt({ month: 'short', day: 'numeric' }),
  week: dateFmt({ month: 'short', day: 'numeric' }),
  month: dateFmt({ month: 'short', year: 'numeric' }),
  long: dateFmt({ year: 'numeric', month: 'long', day: 'numeric' }),
};
const asDate = (iso) => new Date(`${iso}T00:00:00Z`);
/** A step's name for people: the day, the week's first day, or the month. */
export function stepLabel(point, step, style = step) {
  const d = asDate(point.start);
  if (step === 'week' && style !== 'day') return `Week of ${fmt.long.format(d)}`;
  return (style === 'long' ? fmt.long : fmt[style] || fmt.day).format(d);
}

/** A tick spacing of 1, 2 or 5 x 10^n giving at most 4 intervals up to `max`. */
function tickStep(max) {
  const raw = Math.max(1, max / 4);
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((v) => v >= raw);
}

/** One sentence on the whole window: what the chart shows, for its label and for readers of the page. */
export function describe(points, step, meta) {
  const total = (k) => points.reduce((n, p) => n + p[k], 0);
  const count = total('conversations');
  const per = { day: 'day', week: 'week', month: 'month' }[step];
  const span = `${fmt.long.format(asDate(meta.from))} to ${fmt.long.format(asDate(meta.to))}`;
  if (!count) return `Conversations per ${per} from ${span}: none.`;
  const busiest = points.reduce((a, b) => (b.conversations > a.conversations ? b : a));
  return `Conversations per ${per} from ${span}: ${count} in total, ${total('successful')} successful, `
    + `${total('escalated')} escalated, ${total('failed')} failed. The busiest ${per}: `
    + `${stepLabel(busiest, step, 'long')}, with ${busiest.conversations}.`;
}

/** The figure: legend, stacked bars, a sentence summing it up, and the numbers as a table behind a toggle.
 *  `width`: the room it has, in CSS pixels, so that its text is drawn at its size (the SVG still scales). */
export function trendFigure(points, step, meta, width = 760) {
  const W = Math.max(300, Math.round(width));
  const summary = describe(points, step, meta);
  const max = Math.max(1, ...points.map((p) => p.conversations));
  const tick = tickStep(max);
  const top = Math.ceil(max / tick) * tick;
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  const slot = plotW / Math.max(1, points.length);
  const y = (v) => TOP + plotH - (v / top) * plotH;

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'trend-title trend-summary', id: 'trend-svg', class: 'trend-svg' });
  for (let v = 0; v <= top; v += tick) {
    svg.append(s('line', { x1: LEFT, x2: W - RIGHT, y1: y(v), y2: y(v), class: v ? 'grid' : 'axis' }),
      s('text', { x: LEFT - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, String(v)));
  }
  const every = Math.ceil(points.length / Math.max(2, Math.floor(W / 90)));
  points.forEach((p, i) => {
    const x = LEFT + i * slot + slot * 0.1;
    const g = s('g', { class: 'step', 'data-start': p.start, 'data-conversations': p.conversations });
    let base = 0;
    for (const [key, label] of OUTCOMES) {
      const n = p[key];
      g.append(s('rect', { x, width: Math.max(1, slot * 0.8), y: y(base + n), height: y(base) - y(base + n), class: `bar ${key}`, 'data-outcome': key, 'data-count': n },
        s('title', {}, `${stepLabel(p, step, 'long')}: ${n} ${label.toLowerCase()}`)));
      base += n;
    }
    svg.append(g);
    if (i % every === 0) {
      svg.append(s('text', { x: LEFT + i * slot + slot / 2, y: H - BOTTOM + 18, 'text-anchor': 'middle', class: 'tick' }, stepLabel(p, step)));
    }
  });

  const unit = { day: 'Day', week: 'Week', month: 'Month' }[step];
  const table = h('table.data', { id: 'trend-table' },
    h('caption.sr-only', `Conversations per ${step} by outcome`),
    h('thead', h('tr', [unit, ...OUTCOMES.map(([, l]) => l), 'Total'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', points.map((p) => h('tr', { 'data-start': p.start },
      h('th', { scope: 'row' }, stepLabel(p, step, 'long')), OUTCOMES.map(([k]) => h('td', String(p[k]))), h('td', String(p.conversations))))));
  const note = meta.dayBoundaries === 'UTC' && meta.tz !== 'UTC' ? ' Days are counted in UTC.' : '';
  return h('figure.card.trend', { id: 'trend' },
    h('figcaption#trend-title', `Conversations per ${step} by outcome`),
    h('ul.legend', OUTCOMES.map(([k, l]) => h('li', h(`span.swatch.${k}`, { 'aria-hidden': 'true' }), l))),
    svg,
    h('p#trend-summary.meta', summary + note),
    h('details#trend-numbers', h('summary', 'Show the numbers as a table'), table));
}
