import type { LicenseStatus, UsageHistory } from '../client/index.js';
import { h, s } from './dom.js';
import { plural } from './format.js';
import type { Tone } from './ui.js';

/** How full the seats are: ok below the hard seats, warn in soft seats, bad when none is free. */
export function seatTone(status: LicenseStatus): Tone {
  if (status.licenseSeats === 0) return status.activeUserCount > 0 ? 'bad' : 'neutral';
  if (status.activeUserCount >= status.licenseSeats) return 'bad';
  if (status.activeUserCount > status.hardSeats) return 'warn';
  return 'ok';
}

/**
 * A horizontal gauge: the hard seats as a solid track, the soft seats hatched after them, and the
 * active users as a bar over both (running past the end when users exceed the seats). SVG built
 * with DOM calls; colours come from classes in console.css.
 */
export function seatGauge(status: LicenseStatus): SVGSVGElement {
  const { activeUserCount: used, hardSeats: hard, licenseSeats: total } = status;
  const width = 400;
  const max = Math.max(total, used, 1);
  const x = (n: number) => Math.round((n / max) * width * 10) / 10;
  const label =
    `${used} of ${plural(total, 'seat')} used: ${plural(hard, 'licensed seat')} and ` +
    `${plural(total - hard, 'soft seat')}`;
  return s(
    'svg',
    {
      class: 'gauge',
      viewBox: `0 0 ${width} 40`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': label,
      'data-used': used,
      'data-seats': total,
    },
    s('title', {}, label),
    s(
      'defs',
      {},
      s(
        'pattern',
        {
          id: 'soft-hatch',
          width: 8,
          height: 8,
          patternUnits: 'userSpaceOnUse',
          patternTransform: 'rotate(45)',
        },
        s('rect', { width: 8, height: 8, class: 'g-soft-bg' }),
        s('line', { x1: 0, y1: 0, x2: 0, y2: 8, class: 'g-soft-line' }),
      ),
    ),
    s('rect', { x: 0, y: 4, width, height: 32, rx: 4, class: 'g-empty' }),
    s('rect', { x: 0, y: 4, width: x(hard), height: 32, class: 'g-hard' }),
    s('rect', { x: x(hard), y: 4, width: x(total) - x(hard), height: 32, class: 'g-soft' }),
    s('rect', { x: 0, y: 12, width: x(used), height: 16, class: `g-used tone-${seatTone(status)}` }),
    hard > 0 && hard < max ? s('line', { x1: x(hard), y1: 0, x2: x(hard), y2: 40, class: 'g-mark' }) : null,
    total > 0 && total < max
      ? s('line', { x1: x(total), y1: 0, x2: x(total), y2: 40, class: 'g-mark' })
      : null,
  );
}

export function gaugeLegend(status: LicenseStatus): HTMLElement {
  return h(
    'ul',
    { class: 'legend' },
    h(
      'li',
      {},
      h('span', { class: `swatch sw-used tone-${seatTone(status)}`, 'aria-hidden': 'true' }),
      'Active users',
    ),
    h('li', {}, h('span', { class: 'swatch sw-hard', 'aria-hidden': 'true' }), 'Licensed (hard) seats'),
    h('li', {}, h('span', { class: 'swatch sw-soft', 'aria-hidden': 'true' }), 'Soft seats'),
  );
}

const DAY_MS = 86_400_000;
/** The widest a day's bar is drawn, so a few days of data do not become slabs. */
const MAX_BAR_PX = 40;

/**
 * The top of the y axis: an even whole number at or above `value` (2, 4, 10, 20, 40, 100, 200,
 * 400, 1000, ...), so the three ticks 0, top/2 and top are whole numbers of users.
 */
export function niceMax(value: number): number {
  if (value <= 2) return 2;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 4, 10])
    if (step * magnitude >= value && (step * magnitude) % 2 === 0) return step * magnitude;
  return 10 * magnitude;
}

/**
 * The days the chart spans: from the first recorded day (or the last day, with nothing recorded)
 * to `history.to`, within the range asked for. A young installation is not stretched to a fixed
 * number of days: one day of data is one day.
 */
export function chartRange(history: UsageHistory): { from: string; dayCount: number } {
  const to = Date.parse(`${history.to}T00:00:00Z`);
  const first = history.days[0] === undefined ? to : Date.parse(`${history.days[0].day}T00:00:00Z`);
  const from = Math.min(to, Math.max(Date.parse(`${history.from}T00:00:00Z`), first));
  return { from: new Date(from).toISOString().slice(0, 10), dayCount: Math.round((to - from) / DAY_MS) + 1 };
}

/**
 * Daily peak active users (bars) against the license seats (a line) and the hard seats (a dashed
 * line), one slot per day of the range. Drawn at `width` pixels so its text stays legible on a
 * phone; the numbers are also in a table for screen readers.
 */
export function historyChart(history: UsageHistory, width: number): SVGSVGElement {
  const height = 220;
  const pad = { left: 36, right: 8, top: 12, bottom: 26 };
  const { from: fromDay, dayCount } = chartRange(history);
  const from = Date.parse(`${fromDay}T00:00:00Z`);
  const empty = history.days.length === 0;
  const top = niceMax(
    Math.max(1, ...history.days.flatMap((d) => [d.peakActiveUsers, d.licenseSeats, d.hardSeats])),
  );
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const slot = plotW / dayCount;
  const barW = Math.max(1, Math.min(slot * 0.7, MAX_BAR_PX));
  const xOf = (day: string) => pad.left + ((Date.parse(`${day}T00:00:00Z`) - from) / DAY_MS) * slot;
  const yOf = (n: number) => pad.top + plotH - (n / top) * plotH;
  const round = (n: number) => Math.round(n * 10) / 10;

  const step = (pick: (d: UsageHistory['days'][number]) => number) =>
    history.days
      .map((d, i) => {
        const x0 = round(xOf(d.day));
        const y = round(yOf(pick(d)));
        return `${i === 0 ? 'M' : 'L'}${x0},${y} H${round(x0 + slot)}`;
      })
      .join(' ');

  const ticks = [0, top / 2, top];
  const last = history.days.at(-1);
  const label =
    last === undefined
      ? 'No usage recorded in this range'
      : `Daily peak active users from ${fromDay} to ${history.to}; on ${last.day}, ${last.peakActiveUsers} active of ${last.licenseSeats} seats`;
  return s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label },
    s('title', {}, label),
    ...ticks.flatMap((t) => [
      s('line', {
        x1: pad.left,
        x2: width - pad.right,
        y1: round(yOf(t)),
        y2: round(yOf(t)),
        class: 'c-grid',
      }),
      s('text', { x: pad.left - 6, y: round(yOf(t)) + 4, class: 'c-label', 'text-anchor': 'end' }, String(t)),
    ]),
    ...history.days.map((d) =>
      s('rect', {
        x: round(xOf(d.day) + (slot - barW) / 2),
        y: round(yOf(d.peakActiveUsers)),
        width: round(barW),
        height: round(plotH + pad.top - yOf(d.peakActiveUsers)),
        class: d.peakActiveUsers > d.licenseSeats ? 'c-bar c-over' : 'c-bar',
      }),
    ),
    history.days.length > 0 ? s('path', { d: step((d) => d.licenseSeats), class: 'c-seats' }) : null,
    history.days.length > 0 ? s('path', { d: step((d) => d.hardSeats), class: 'c-hard' }) : null,
    empty
      ? s(
          'text',
          {
            x: round(pad.left + plotW / 2),
            y: round(pad.top + plotH / 2),
            class: 'c-label',
            'text-anchor': 'middle',
          },
          'No usage recorded yet',
        )
      : null,
    dayCount > 1 ? s('text', { x: pad.left, y: height - 6, class: 'c-label' }, fromDay) : null,
    s('text', { x: width - pad.right, y: height - 6, class: 'c-label', 'text-anchor': 'end' }, history.to),
  );
}

export function chartLegend(): HTMLElement {
  return h(
    'ul',
    { class: 'legend' },
    h('li', {}, h('span', { class: 'swatch sw-bar', 'aria-hidden': 'true' }), 'Peak active users'),
    h('li', {}, h('span', { class: 'swatch sw-seats', 'aria-hidden': 'true' }), 'Seats (hard + soft)'),
    h('li', {}, h('span', { class: 'swatch sw-hardline', 'aria-hidden': 'true' }), 'Hard seats'),
    h('li', {}, h('span', { class: 'swatch sw-over', 'aria-hidden': 'true' }), 'Above the seats'),
  );
}
