/**
 * The administrator console: sign-in, then its screens (overview, licenses, usage, users, pending,
 * tokens, audit) driven by the typed client. Routes are the URL fragment (#/licenses), so the server
 * serves one page.
 */
import type { LicensorClient } from '../client/index.js';
import { renderAudit } from './audit.js';
import { byId, focusOn, h } from './dom.js';
import { renderLicenseDetail } from './license-detail.js';
import { renderLicenses } from './licenses.js';
import { renderTokens } from './tokens.js';
import { renderOverview } from './overview.js';
import { renderPending } from './pending.js';
import { clientFor, errorText, forgetToken, isUnauthorized, saveToken, savedToken } from './session.js';
import type { ViewContext } from './ui.js';
import { renderUsage } from './usage.js';
import { renderUsers } from './users.js';
import { renderWebhooks } from './webhooks.js';

interface Route {
  title: string;
  render(ctx: ViewContext): Promise<void>;
}

const ROUTES: Record<string, Route> = {
  overview: { title: 'Overview', render: renderOverview },
  licenses: { title: 'Licenses', render: renderLicenses },
  // #/license/ID: one license, every claim and its history (not in the navigation).
  license: { title: 'License', render: renderLicenseDetail },
  usage: { title: 'Usage', render: renderUsage },
  users: { title: 'Users', render: renderUsers },
  pending: { title: 'Pending approval', render: renderPending },
  tokens: { title: 'Tokens', render: renderTokens },
  audit: { title: 'Audit log', render: renderAudit },
  webhooks: { title: 'Webhooks', render: renderWebhooks },
};

const view = byId('view');
const nav = byId('nav');
const signOutButton = byId<HTMLButtonElement>('sign-out');
const banner = byId('error');
const flash = byId('flash');

let client: LicensorClient | null = null;
/** Counts renders, so a slow screen that finishes after the user moved on is dropped. */
let renderCount = 0;

function routeName(): string {
  const name = /^#\/([a-z]+)/.exec(window.location.hash)?.[1];
  return name !== undefined && name in ROUTES ? name : 'overview';
}

// The banner and the status line stay in the page (empty ones take no room), so screen readers
// announce what is put in them.
function clearError(): void {
  banner.replaceChildren();
}

function fail(err: unknown): void {
  if (isUnauthorized(err)) {
    signOut(`Signed out: ${errorText(err)}`);
    return;
  }
  const dismiss = h('button', { type: 'button', class: 'button secondary small' }, 'Dismiss');
  dismiss.addEventListener('click', () => {
    clearError();
    focusOn(byId('main'));
  });
  banner.replaceChildren(h('p', {}, h('strong', {}, 'Error: '), errorText(err)), dismiss);
}

function notify(message: string): void {
  flash.textContent = message;
  focusOn(flash);
}

function clearFlash(): void {
  flash.textContent = '';
}

async function show(focus: boolean): Promise<void> {
  if (client === null) {
    renderSignIn();
    return;
  }
  const name = routeName();
  const route = ROUTES[name]!;
  const count = ++renderCount;
  nav.hidden = false;
  signOutButton.hidden = false;
  nav.querySelectorAll('a').forEach((link) => {
    if (link.getAttribute('href') === `#/${name}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  });
  document.title = `${route.title} · Licensor console`;
  clearError();
  clearFlash();
  const heading = h('h1', { tabindex: -1 }, route.title);
  const root = h('div', { class: 'view-body' });
  view.replaceChildren(heading, root);
  view.setAttribute('aria-busy', 'true');
  root.append(h('p', { class: 'muted loading' }, 'Loading…'));
  const loading = root.firstElementChild;
  if (focus) heading.focus();
  try {
    const ctx: ViewContext = {
      client,
      root,
      notify,
      fail,
      clearError,
    };
    await route.render(ctx);
    loading?.remove();
  } catch (err) {
    if (count !== renderCount) return;
    root.replaceChildren(h('p', { class: 'muted' }, 'This screen could not be loaded.'));
    fail(err);
  } finally {
    if (count === renderCount) view.removeAttribute('aria-busy');
  }
}

function signOut(message?: string): void {
  forgetToken();
  client = null;
  renderSignIn(message);
}

function renderSignIn(message?: string): void {
  renderCount++;
  nav.hidden = true;
  signOutButton.hidden = true;
  clearError();
  clearFlash();
  document.title = 'Sign in · Licensor console';
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help sign-in-message',
  });
  const messageLine = h('p', { id: 'sign-in-message', class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'button' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card sign-in', 'aria-labelledby': 'sign-in-title', novalidate: true },
    h('h1', { id: 'sign-in-title' }, 'Sign in'),
    h('label', { for: 'token' }, 'Administrator token'),
    h(
      'p',
      { id: 'token-help', class: 'muted' },
      'A token with the APPLICATION_ADMIN permission (the server prints the first one at start, and keeps it in DATA_DIR/admin-token). It stays in this browser tab only and is sent as a bearer header.',
    ),
    input,
    messageLine,
    h('div', { class: 'actions' }, button),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token === '') {
      messageLine.textContent = 'Enter a token.';
      input.focus();
      return;
    }
    button.disabled = true;
    const candidate = clientFor(token);
    // The status needs APPLICATION_ADMIN: a wrong or weaker token is refused here, with its detail.
    candidate
      .licenseStatus()
      .then(async () => {
        saveToken(token);
        client = candidate;
        await show(true);
      })
      .catch((err: unknown) => {
        messageLine.textContent = errorText(err);
        button.disabled = false;
        input.focus();
      });
  });
  view.removeAttribute('aria-busy');
  view.replaceChildren(form);
  if (message !== undefined) messageLine.textContent = message;
  input.focus();
}

signOutButton.addEventListener('click', () => signOut('Signed out.'));
window.addEventListener('hashchange', () => {
  // Other fragments (the skip link's #main) are not routes.
  if (window.location.hash.startsWith('#/')) void show(true);
});

const token = savedToken();
if (token !== null) client = clientFor(token);
void show(false);
