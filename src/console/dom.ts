/**
 * A few helpers to build the page with DOM APIs: text goes in as text nodes (never as HTML), and
 * nothing sets a style attribute, so the page runs under a CSP without 'unsafe-inline'.
 */

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

function apply(el: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'style') throw new Error('no style attributes: the CSP refuses them; use a class');
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(el: Element, children: Child[]): void {
  for (const child of children)
    if (child !== null && child !== undefined && child !== false)
      el.append(typeof child === 'number' ? String(child) : child);
}

/** An HTML element: `h('button', { type: 'button', onclick: go }, 'Go')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element; geometry goes in attributes, colours in classes. */
export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** Finds an element the page is known to have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** Moves focus to an element that is not focusable by itself (a heading, a panel). */
export function focusOn(el: HTMLElement): void {
  if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus();
}

/** A table with a caption, header cells with scope, and one row per item. */
export function table<T>(
  caption: string,
  columns: { header: string; cell: (item: T) => Child; className?: string }[],
  items: T[],
  options: { captionHidden?: boolean; rowAttrs?: (item: T) => Attrs } = {},
): HTMLTableElement {
  return h(
    'table',
    { class: 'data' },
    h('caption', { class: options.captionHidden === true ? 'visually-hidden' : undefined }, caption),
    h(
      'thead',
      {},
      h('tr', {}, ...columns.map((c) => h('th', { scope: 'col', class: c.className }, c.header))),
    ),
    h(
      'tbody',
      {},
      ...items.map((item) =>
        h(
          'tr',
          options.rowAttrs?.(item) ?? {},
          ...columns.map((c) => h('td', { 'data-label': c.header, class: c.className }, c.cell(item))),
        ),
      ),
    ),
  );
}
