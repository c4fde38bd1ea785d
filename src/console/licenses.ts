import type { LicenseImpact, LicenseListItem } from '../client/index.js';
import { confirmDialog } from './dialog.js';
import { focusOn, h, table } from './dom.js';
import { formatDay, relativeTime } from './format.js';
import { hardBadges, impactDetails, licenseSummary, refusalNotice, stateBadge } from './impact.js';
import type { ViewContext } from './ui.js';

/** A license key file is a few kilobytes; anything much larger is not one. */
const MAX_KEY_FILE_BYTES = 256 * 1024;

function licensee(l: LicenseListItem): string {
  const parts = [l.licensee?.company, l.licensee?.name].filter((v) => v !== undefined);
  return parts.length === 0 ? '—' : parts.join(', ');
}

function expiresCell(l: LicenseListItem, now: Date): HTMLElement | string {
  if (l.expires === null) return 'never';
  return h(
    'time',
    { datetime: l.expires, title: l.expires },
    formatDay(l.expires),
    h('span', { class: 'relative' }, relativeTime(l.expires, now)),
  );
}

export async function renderLicenses(ctx: ViewContext): Promise<void> {
  const { client } = ctx;
  const tableBox = h('div', { class: 'table-box' });

  const keyInput = h('textarea', {
    id: 'license-key',
    name: 'licenseKey',
    rows: 4,
    spellcheck: 'false',
    autocomplete: 'off',
    'aria-describedby': 'license-key-help',
  });
  const fileInput = h('input', {
    id: 'license-file',
    type: 'file',
    accept: '.jwt,.jws,.lic,.key,.txt,text/plain',
  });
  const previewButton = h('button', { type: 'submit', class: 'button' }, 'Preview');
  const preview = h('section', {
    class: 'preview',
    id: 'preview',
    hidden: true,
    'aria-labelledby': 'preview-title',
  });

  const closePreview = (focus: boolean): void => {
    preview.hidden = true;
    preview.replaceChildren();
    if (focus) keyInput.focus();
  };

  const showPreview = (key: string, impact: LicenseImpact): void => {
    const now = new Date();
    const title = h('h3', { id: 'preview-title', tabindex: -1 }, 'Preview: what adding this key changes');
    const actions = h('div', { class: 'actions' });
    if (impact.refusal === null) {
      const add = h('button', { type: 'button', class: 'button' }, 'Add license');
      add.addEventListener('click', () => {
        add.disabled = true;
        void (async () => {
          try {
            const added = await client.addLicense(key);
            ctx.clearError();
            closePreview(false);
            keyInput.value = '';
            await loadTable();
            ctx.notify(`Added license ${added.id} (${added.seats} seats + ${added.softSeats} soft).`);
          } catch (err) {
            add.disabled = false;
            ctx.fail(err);
          }
        })();
      });
      actions.append(add);
    }
    actions.append(
      h(
        'button',
        { type: 'button', class: 'button secondary', onclick: () => closePreview(true) },
        impact.refusal === null ? 'Cancel' : 'Back to the key',
      ),
    );
    preview.replaceChildren(title);
    if (impact.license !== null)
      preview.append(
        h('p', { class: 'summary' }, licenseSummary(impact.license, now), ' ', ...hardBadges(impact.license)),
      );
    preview.append(
      impact.refusal === null ? impactDetails(impact, 'add') : refusalNotice(impact.refusal),
      actions,
    );
    preview.hidden = false;
    focusOn(title);
  };

  const runPreview = async (): Promise<void> => {
    const key = keyInput.value.trim();
    if (key === '') {
      ctx.fail('Paste a license key, or drop its file, first.');
      keyInput.focus();
      return;
    }
    previewButton.disabled = true;
    try {
      const impact = await client.validateLicense(key);
      ctx.clearError();
      showPreview(key, impact);
    } catch (err) {
      ctx.fail(err);
    } finally {
      previewButton.disabled = false;
    }
  };

  const readFile = async (file: File | undefined): Promise<void> => {
    if (file === undefined) return;
    if (file.size > MAX_KEY_FILE_BYTES) {
      ctx.fail(`${file.name} is too large to be a license key.`);
      return;
    }
    keyInput.value = (await file.text()).trim();
    await runPreview();
  };

  fileInput.addEventListener('change', () => {
    void readFile(fileInput.files?.[0]);
    fileInput.value = '';
  });

  const drop = h(
    'div',
    { class: 'dropzone', id: 'dropzone' },
    h('label', { for: 'license-key' }, 'License key'),
    h(
      'p',
      { id: 'license-key-help', class: 'muted' },
      'Paste the key, or drop its file here. Preview shows what adding it changes; nothing is stored until you confirm.',
    ),
    keyInput,
    h(
      'div',
      { class: 'actions' },
      previewButton,
      h('label', { for: 'license-file', class: 'file-label' }, 'Or choose a file'),
      fileInput,
    ),
  );
  for (const type of ['dragenter', 'dragover'])
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add('dragging');
    });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('dragging');
    const file = event.dataTransfer?.files[0];
    const text = event.dataTransfer?.getData('text/plain').trim() ?? '';
    if (file !== undefined) void readFile(file);
    else if (text !== '') {
      // Dragged text (the key itself, from another window) works too.
      keyInput.value = text;
      void runPreview();
    }
  });

  const form = h('form', { class: 'add-form', 'aria-labelledby': 'add-title', novalidate: true }, drop);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void runPreview();
  });
  preview.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      closePreview(true);
    }
  });

  const remove = async (license: LicenseListItem, opener: HTMLButtonElement): Promise<void> => {
    let impact: LicenseImpact;
    try {
      impact = await client.deleteLicenseDryRun(license.id);
    } catch (err) {
      ctx.fail(err);
      return;
    }
    const confirmed = await confirmDialog({
      title: `Delete license ${license.id}?`,
      confirmLabel: `Delete license ${license.id}`,
      danger: true,
      body: [
        impact.license === null
          ? null
          : h(
              'p',
              { class: 'summary' },
              licenseSummary(impact.license, new Date()),
              ' ',
              ...hardBadges(impact.license),
            ),
        license.hardDelete
          ? h(
              'p',
              { class: 'consequence tone-bad', id: 'hard-delete-warning' },
              h('strong', {}, 'This key can never be added again. '),
              'It has hardDelete: once deleted, its uuid is refused for good.',
            )
          : h('p', { class: 'muted' }, 'The same key can be added again later.'),
        impactDetails(impact, 'delete'),
      ],
    });
    if (!confirmed) return;
    try {
      await client.deleteLicense(license.id);
      ctx.clearError();
      await loadTable();
      ctx.notify(`Deleted license ${license.id}.`);
    } catch (err) {
      ctx.fail(err);
      if (opener.isConnected) opener.focus();
    }
  };

  const showAll = h('input', { type: 'checkbox', id: 'show-all' });
  showAll.addEventListener('change', () => {
    void loadTable().catch((err: unknown) => ctx.fail(err));
  });

  async function loadTable(): Promise<void> {
    const all = showAll.checked;
    const licenses = await client.listLicenses({ all });
    const now = new Date();
    if (licenses.length === 0) {
      tableBox.replaceChildren(h('p', { class: 'muted' }, 'No licenses yet. Add a key above.'));
      return;
    }
    tableBox.replaceChildren(
      table(
        all ? 'Every license ever added, in id order' : 'Licenses that are not deleted, in id order',
        [
          {
            header: 'ID',
            cell: (l) =>
              h(
                'a',
                { href: `#/license/${l.id}`, 'aria-label': `License ${l.id}: details and history` },
                String(l.id),
              ),
            className: 'num',
          },
          { header: 'UUID', cell: (l) => h('code', {}, l.uuid), className: 'uuid' },
          { header: 'Licensee', cell: licensee },
          { header: 'Seats', cell: (l) => String(l.seats), className: 'num' },
          { header: 'Soft seats', cell: (l) => String(l.softSeats), className: 'num' },
          { header: 'Created', cell: (l) => formatDay(l.createdAt) },
          { header: 'Expires', cell: (l) => expiresCell(l, now) },
          {
            header: 'Status',
            cell: (l) => h('span', { class: 'badges' }, stateBadge(l.state), ...hardBadges(l)),
          },
          {
            header: 'Actions',
            cell: (l) => {
              if (l.deleted) return '—';
              const button = h(
                'button',
                { type: 'button', class: 'button danger small', 'aria-label': `Delete license ${l.id}` },
                'Delete',
              );
              button.addEventListener('click', () => void remove(l, button));
              return button;
            },
          },
        ],
        licenses,
        { captionHidden: true, rowAttrs: (l) => ({ 'data-license-id': l.id }) },
      ),
    );
  }

  ctx.root.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'add-title' },
      h('h2', { id: 'add-title' }, 'Add a license'),
      form,
      preview,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'list-title' },
      h('h2', { id: 'list-title' }, 'Licenses'),
      h(
        'p',
        { class: 'toggle' },
        showAll,
        ' ',
        h('label', { for: 'show-all' }, 'Show deleted licenses too (the whole history)'),
      ),
      tableBox,
    ),
  );
  await loadTable();
}
