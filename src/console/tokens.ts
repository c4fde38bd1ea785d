import type { CreatedToken, Permission, Token } from '../client/index.js';
import { confirmDialog } from './dialog.js';
import { focusOn, h, table } from './dom.js';
import { formatDateTime, relativeTime } from './format.js';
import type { ViewContext } from './ui.js';

const PERMISSIONS: Record<string, { permissions: Permission[]; text: string }> = {
  USER_ADMIN: { permissions: ['USER_ADMIN'], text: 'USER_ADMIN: users only (for the host product)' },
  APPLICATION_ADMIN: {
    permissions: ['APPLICATION_ADMIN'],
    text: 'APPLICATION_ADMIN: everything (licenses, tokens, audit, users)',
  },
};

/** Copies text; a browser without the clipboard API (or refusing it) gets the text selected. */
async function copy(text: string, field: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    field.focus();
    field.select();
    return false;
  }
}

/**
 * API tokens: the live ones, a new one (its secret shown once, with a copy button) and revoking
 * one after a confirmation.
 */
export async function renderTokens(ctx: ViewContext): Promise<void> {
  const { client } = ctx;
  const box = h('div', { class: 'table-box', id: 'tokens-table' });
  const created = h('div', { id: 'token-created', 'aria-live': 'polite' });

  const revoke = async (token: Token): Promise<void> => {
    const confirmed = await confirmDialog({
      title: `Revoke token ${token.id} (${token.name})?`,
      body: [
        h(
          'p',
          {},
          'Every request with this token is refused (401) from now on. This cannot be undone: whoever uses it needs a new token.',
        ),
        token.permissions.includes('APPLICATION_ADMIN')
          ? h(
              'p',
              {},
              'It is an APPLICATION_ADMIN token. If it is the one you signed in with, the console signs you out.',
            )
          : null,
      ],
      confirmLabel: 'Revoke',
      danger: true,
    });
    if (!confirmed) return;
    ctx.clearError();
    try {
      await client.revokeToken(token.id);
      created.replaceChildren();
      // Revoking the token this console signed in with: this load is refused, and fail() signs out.
      await load();
    } catch (err) {
      ctx.fail(err);
      return;
    }
    ctx.notify(`Token ${token.id} (${token.name}) is revoked.`);
  };

  const load = async (): Promise<void> => {
    const tokens = await client.listTokens();
    const now = new Date();
    box.replaceChildren(
      tokens.length === 0
        ? h('p', { class: 'muted' }, 'No live token.')
        : table(
            'Live tokens in id order',
            [
              { header: 'ID', cell: (t: Token) => String(t.id), className: 'num' },
              { header: 'Name', cell: (t) => h('span', { class: 'wrap' }, t.name) },
              {
                header: 'Permissions',
                cell: (t) =>
                  h(
                    'span',
                    {},
                    ...t.permissions.map((p) => h('code', { class: 'wrap' }, p)),
                    t.bootstrap
                      ? h('span', { class: 'relative' }, 'the administrator token of the server')
                      : null,
                  ),
              },
              {
                header: 'Created',
                cell: (t) =>
                  h(
                    'time',
                    { datetime: t.createdAt, title: t.createdAt },
                    formatDateTime(t.createdAt),
                    h('span', { class: 'relative' }, relativeTime(t.createdAt, now)),
                  ),
              },
              {
                header: 'Revoke',
                cell: (t) =>
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'button danger small',
                      'aria-label': `Revoke token ${t.id} (${t.name})`,
                      onclick: () => void revoke(t),
                    },
                    'Revoke',
                  ),
              },
            ],
            tokens,
            { captionHidden: true, rowAttrs: (t) => ({ 'data-token-id': t.id }) },
          ),
    );
  };

  const showSecret = (token: CreatedToken): void => {
    const field = h('input', {
      id: 'token-secret',
      type: 'text',
      readonly: true,
      value: token.secret,
      autocomplete: 'off',
      spellcheck: 'false',
      class: 'secret',
    });
    const copied = h('span', { class: 'muted', role: 'status' });
    const copyButton = h('button', { type: 'button', class: 'button' }, 'Copy');
    copyButton.addEventListener('click', () => {
      void copy(token.secret, field).then((ok) => {
        copied.textContent = ok ? 'Copied.' : 'Selected: press Ctrl+C (⌘C) to copy.';
      });
    });
    const done = h('button', { type: 'button', class: 'button secondary' }, 'Done');
    done.addEventListener('click', () => {
      created.replaceChildren();
      focusOn(box);
    });
    const panel = h(
      'div',
      { class: 'preview', tabindex: -1 },
      h('h3', {}, `Token ${token.id} (${token.name}) is created`),
      h(
        'p',
        { class: 'summary' },
        'Copy its secret now: it is shown only this once. Licensor keeps only its hash.',
      ),
      h('label', { for: 'token-secret' }, 'Secret'),
      field,
      h('div', { class: 'actions' }, copyButton, done, copied),
    );
    created.replaceChildren(panel);
    focusOn(panel);
  };

  // Create
  const name = h('input', {
    id: 'token-name',
    type: 'text',
    name: 'name',
    maxlength: 128,
    required: true,
    autocomplete: 'off',
  });
  const permission = h(
    'select',
    { id: 'token-permission', name: 'permission' },
    ...Object.entries(PERMISSIONS).map(([value, p]) => h('option', { value }, p.text)),
  );
  const message = h('p', { class: 'form-error', role: 'alert', id: 'token-name-error' });
  const createButton = h('button', { type: 'submit', class: 'button' }, 'Create token');
  const form = h(
    'form',
    { class: 'filters', 'aria-labelledby': 'new-token-title', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'token-name' }, 'What it is for'), name, message),
    h('div', { class: 'field' }, h('label', { for: 'token-permission' }, 'Permission'), permission),
    h('div', { class: 'field field-button' }, createButton),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = name.value.trim();
    if (text === '') {
      message.textContent = 'Say what the token is for, e.g. the product that uses it.';
      name.focus();
      return;
    }
    message.textContent = '';
    createButton.disabled = true;
    ctx.clearError();
    client
      .createToken({ name: text, permissions: PERMISSIONS[permission.value]!.permissions })
      .then(async (token) => {
        name.value = '';
        await load();
        showSecret(token);
      })
      .catch((err: unknown) => ctx.fail(err))
      .finally(() => {
        createButton.disabled = false;
      });
  });

  ctx.root.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'new-token-title' },
      h('h2', { id: 'new-token-title' }, 'New token'),
      h(
        'p',
        { class: 'muted' },
        'Give the host product a USER_ADMIN token. The secret is shown once, when the token is created.',
      ),
      form,
      created,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'tokens-title' },
      h('h2', { id: 'tokens-title' }, 'Live tokens'),
      box,
      h('p', { class: 'muted' }, 'Revoked tokens are not listed; the audit log keeps their history.'),
    ),
  );
  await load();
}
