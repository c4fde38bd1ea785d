import type { LicensorClient } from '../client/index.js';
import { h, type Child } from './dom.js';
import { pageText } from './format.js';

/** What a screen gets: the client, the element to fill, and the shared ways to report. */
export interface ViewContext {
  client: LicensorClient;
  root: HTMLElement;
  /** Shows a success message in the page's status line and moves focus to it. */
  notify(message: string): void;
  /** Shows a failure (an API error as its problem detail, or a sentence) in the alert banner. */
  fail(err: unknown): void;
  /** Clears the alert banner. */
  clearError(): void;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'neutral';

/** A short coloured label; the words carry the meaning, the colour repeats it. */
export function badge(text: string, tone: Tone): HTMLElement {
  return h('span', { class: `badge tone-${tone}` }, text);
}

export function card(title: string, ...children: Child[]): HTMLElement {
  const id = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

/** Previous / next buttons and "Showing 1–10 of 57 users"; `go` loads the page at an offset. */
export function pager(
  page: { offset: number; size: number; total: number; shown: number },
  nouns: string,
  go: (offset: number, via: 'previous' | 'next') => void,
): HTMLElement {
  const { offset, size, total, shown } = page;
  return h(
    'nav',
    { class: 'pager', 'aria-label': `Pages of ${nouns}` },
    h(
      'button',
      {
        type: 'button',
        class: 'button secondary',
        'data-page': 'previous',
        disabled: offset === 0,
        onclick: () => go(Math.max(0, offset - size), 'previous'),
      },
      'Previous',
    ),
    h('span', { class: 'page-text', 'aria-live': 'polite' }, pageText(offset, shown, total, nouns)),
    h(
      'button',
      {
        type: 'button',
        class: 'button secondary',
        'data-page': 'next',
        disabled: offset + size >= total,
        onclick: () => go(offset + size, 'next'),
      },
      'Next',
    ),
  );
}

/** After paging, keep focus on the button used, or on the other one when it is now disabled. */
export function refocusPager(container: HTMLElement, via: 'previous' | 'next'): void {
  const pressed = container.querySelector<HTMLButtonElement>(`.pager [data-page="${via}"]`);
  const other = container.querySelector<HTMLButtonElement>(
    `.pager [data-page="${via === 'next' ? 'previous' : 'next'}"]`,
  );
  if (pressed !== null && !pressed.disabled) pressed.focus();
  else other?.focus();
}

/** A list of names as chips, or a dash-free sentence when there are none. */
export function chips(names: string[], empty: string, tone: Tone = 'neutral'): HTMLElement {
  if (names.length === 0) return h('p', { class: 'muted' }, empty);
  return h('ul', { class: 'chips' }, ...names.map((name) => h('li', { class: `chip tone-${tone}` }, name)));
}
