import { h, type Child } from './dom.js';

/**
 * A modal confirmation in a native <dialog>: focus moves into it (to the safe choice), stays in it,
 * Escape closes it, and focus returns to where it was. Resolves with whether the action was
 * confirmed.
 */
export function confirmDialog(options: {
  title: string;
  body: Child[];
  confirmLabel: string;
  danger?: boolean;
}): Promise<boolean> {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId });
  const cancel = h(
    'button',
    { type: 'button', class: 'button secondary', autofocus: true, onclick: () => dialog.close('cancel') },
    'Cancel',
  );
  const confirm = h(
    'button',
    {
      type: 'button',
      class: options.danger === true ? 'button danger' : 'button',
      onclick: () => dialog.close('confirm'),
    },
    options.confirmLabel,
  );
  dialog.append(
    h('h2', { id: titleId }, options.title),
    h('div', { class: 'dialog-body' }, ...options.body),
    h('div', { class: 'actions' }, cancel, confirm),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const confirmed = dialog.returnValue === 'confirm';
      dialog.remove();
      if (opener?.isConnected === true) opener.focus();
      resolve(confirmed);
    });
    dialog.showModal();
    cancel.focus();
  });
}
