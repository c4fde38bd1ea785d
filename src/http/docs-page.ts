import { ERROR_STATUS } from '../domain/errors.js';
import type { OpenAPIV3_1 } from 'openapi-types';
import { OPERATION_METHODS, type OpenApiDocument } from './openapi.js';

type SchemaObject = OpenAPIV3_1.SchemaObject | OpenAPIV3_1.ReferenceObject;
type OperationObject = OpenAPIV3_1.OperationObject;

/**
 * The API reference at /docs: HTML rendered on the server from the OpenAPI document, so it cannot
 * say anything the document does not, and one stylesheet served beside it. No script at all, no
 * CDN: the page works offline and under a CSP that allows nothing but this server's stylesheet.
 */
export const DOCS_STYLESHEET_PATH = '/docs/docs.css';

/** No script may run; styles only from the stylesheet (no inline style is used). */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'none'",
  "object-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function esc(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** Escaped text with `code` spans. */
function inline(text: string): string {
  return esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** Paragraphs of escaped text with `code` spans. */
function prose(text: string | undefined, className = ''): string {
  if (text === undefined || text === '') return '';
  const cls = className === '' ? '' : ` class="${className}"`;
  return text
    .split(/\n{2,}/)
    .map((paragraph) => `<p${cls}>${inline(paragraph)}</p>`)
    .join('\n');
}

function anchor(kind: string, name: string): string {
  return `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

function isSchema(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The object itself, or nothing for a $ref: the document has $refs only to schemas, which
 * `typeLabel` links; anything else referenced would be shown as absent rather than guessed.
 */
function inlined<T extends object>(value: T | OpenAPIV3_1.ReferenceObject | undefined): T | undefined {
  return value === undefined || '$ref' in value ? undefined : value;
}

/** A keyword of a schema, read by name. */
function keyword(schema: SchemaObject, key: string): unknown {
  return (schema as Record<string, unknown>)[key];
}

function refName(ref: string): string {
  return ref.replace(/^#\/components\/schemas\//, '');
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'undefined';
}

/** The type of a schema in one line of HTML: models link to their section. */
function typeLabel(schema: SchemaObject | undefined): string {
  if (schema === undefined) return 'any';
  if ('$ref' in schema) {
    const name = refName(schema.$ref);
    return `<a href="#${anchor('schema', name)}">${esc(name)}</a>`;
  }
  if (Array.isArray(schema.enum))
    return schema.enum.map((v: unknown) => `<code>${esc(json(v))}</code>`).join(' | ');
  if ('const' in schema) return `<code>${esc(json(schema.const))}</code>`;
  const union = schema.anyOf ?? schema.oneOf;
  if (union !== undefined) return union.map(typeLabel).join(' | ');
  const types: string[] = Array.isArray(schema.type)
    ? schema.type
    : schema.type === undefined
      ? []
      : [schema.type];
  const labels = types.map((type) => {
    if (type === 'array') return `array of ${typeLabel('items' in schema ? schema.items : undefined)}`;
    if (type === 'object' && schema.properties === undefined && isSchema(schema.additionalProperties))
      return `map of string to ${typeLabel(schema.additionalProperties)}`;
    if (type === 'string' && typeof schema.format === 'string') return `string (${esc(schema.format)})`;
    return esc(type);
  });
  return labels.length === 0 ? 'any' : labels.join(' | ');
}

const CONSTRAINTS: [string, string][] = [
  ['minLength', 'min length'],
  ['maxLength', 'max length'],
  ['minimum', 'minimum'],
  ['maximum', 'maximum'],
  ['minItems', 'min items'],
  ['maxItems', 'max items'],
  ['minProperties', 'min properties'],
  ['pattern', 'pattern'],
  ['uniqueItems', 'unique items'],
  ['default', 'default'],
];

function constraints(schema: SchemaObject): string {
  const parts = CONSTRAINTS.map(([key, label]) => [keyword(schema, key), label] as const)
    .filter(([value]) => value !== undefined)
    .map(([value, label]) => `${label} <code>${esc(typeof value === 'string' ? value : json(value))}</code>`);
  return parts.length === 0 ? '' : `<span class="constraints">${parts.join('; ')}</span>`;
}

function describe(schema: SchemaObject): string {
  return [schema.description === undefined ? '' : inline(schema.description), constraints(schema)]
    .filter((part) => part !== '')
    .join(' ');
}

/** The inline object schemas a property's value may be, whose fields get rows of their own. */
function nestedObjects(schema: SchemaObject): { suffix: string; schema: SchemaObject }[] {
  if ('$ref' in schema) return [];
  if (schema.properties !== undefined) return [{ suffix: '.', schema }];
  if ('items' in schema && schema.items !== undefined)
    return nestedObjects(schema.items).map((n) => ({ ...n, suffix: `[]${n.suffix}` }));
  return (schema.anyOf ?? schema.oneOf ?? []).flatMap(nestedObjects);
}

function propertyRows(schema: SchemaObject, prefix: string, depth: number): string[] {
  if ('$ref' in schema) return [];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).flatMap(([name, property]) => [
    `<tr><td><code>${esc(prefix + name)}</code></td><td>${typeLabel(property)}</td><td>${
      required.has(name) ? 'yes' : 'no'
    }</td><td>${describe(property)}</td></tr>`,
    ...(depth < 5
      ? nestedObjects(property).flatMap((n) =>
          propertyRows(n.schema, `${prefix}${name}${n.suffix}`, depth + 1),
        )
      : []),
  ]);
}

function propertyTable(rows: string[]): string {
  return `<table class="fields"><thead><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function schemaBlock(schema: SchemaObject | undefined): string {
  if (schema === undefined) return '';
  if ('$ref' in schema || schema.properties === undefined) {
    const rows = nestedObjects(schema).flatMap((n) =>
      propertyRows(n.schema, n.suffix === '.' ? '' : n.suffix, 1),
    );
    const line = `<p class="type">${typeLabel(schema)}${constraints(schema) === '' ? '' : ` — ${constraints(schema)}`}</p>`;
    return rows.length === 0 ? line : `${line}\n${propertyTable(rows)}`;
  }
  return propertyTable(propertyRows(schema, '', 1));
}

function exampleBlock(value: unknown, label = 'Example'): string {
  const text = typeof value === 'string' ? value : json(value);
  // An example URL (a webhook's) is text, never a link to another host: its slashes are entities.
  return `<p class="label">${esc(label)}</p><pre><code>${esc(text).replaceAll('://', ':&#47;&#47;')}</code></pre>`;
}

function mediaBlock(type: string, media: OpenAPIV3_1.MediaTypeObject): string {
  const examples = Object.entries(media.examples ?? {}).flatMap(([name, example]) => {
    const value = inlined(example);
    return value === undefined ? [] : [[name, value] as const];
  });
  return [
    `<div class="media"><p class="media-type"><code>${esc(type)}</code></p>`,
    schemaBlock(media.schema),
    media.example === undefined ? '' : exampleBlock(media.example),
    examples.length === 0
      ? ''
      : `<details><summary>${examples.length === 1 ? 'Example' : `${examples.length} examples`}</summary>${examples
          .map(([name, example]) => exampleBlock(example.value, example.summary ?? name))
          .join('\n')}</details>`,
    '</div>',
  ].join('\n');
}

function parametersBlock(all: (OpenAPIV3_1.ParameterObject | OpenAPIV3_1.ReferenceObject)[]): string {
  const parameters = all.flatMap((p) => inlined(p) ?? []);
  if (parameters.length === 0) return '';
  const rows = parameters.map(
    (p) =>
      `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${typeLabel(p.schema)}</td><td>${
        p.required === true ? 'yes' : 'no'
      }</td><td>${[
        p.description === undefined ? '' : inline(p.description),
        p.schema ? constraints(p.schema) : '',
      ]
        .filter((s) => s !== '')
        .join(' ')}</td></tr>`,
  );
  return `<h4>Parameters</h4><table class="fields"><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function statusClass(status: string): string {
  return `status status-${status.slice(0, 1)}xx`;
}

function responseBlock(status: string, response: OpenAPIV3_1.ResponseObject): string {
  const headers = Object.entries(response.headers ?? {}).flatMap(([name, header]) => {
    const value = inlined(header);
    return value === undefined ? [] : [[name, value] as const];
  });
  return [
    `<section class="response"><h5><span class="${statusClass(status)}">${esc(status)}</span> ${inline(response.description)}</h5>`,
    headers.length === 0
      ? ''
      : `<p class="headers">Headers: ${headers
          .map(
            ([name, h]) =>
              `<code>${esc(name)}</code>${h.description === undefined ? '' : ` — ${inline(h.description)}`}`,
          )
          .join('; ')}</p>`,
    ...Object.entries(response.content ?? {}).map(([type, media]) => mediaBlock(type, media)),
    '</section>',
  ].join('\n');
}

function operationBlock(path: string, method: string, op: OperationObject): string {
  const id = op.operationId ?? `${method}-${path}`;
  const secured = (op.security ?? []).length > 0;
  const body = inlined(op.requestBody);
  return [
    `<article class="operation" id="${anchor('op', id)}">`,
    `<h3><span class="method method-${method}">${method.toUpperCase()}</span> <code class="path">${esc(path)}</code></h3>`,
    op.summary === undefined ? '' : `<p class="summary">${inline(op.summary)}</p>`,
    prose(op.description),
    `<p class="meta">${secured ? 'Needs a bearer token' : 'Public: no token needed'} · operationId <code>${esc(id)}</code></p>`,
    parametersBlock(op.parameters ?? []),
    body === undefined
      ? ''
      : [
          `<h4>Request body${body.required === true ? '' : ' (optional)'}</h4>`,
          prose(body.description),
          ...Object.entries(body.content ?? {}).map(([type, media]) => mediaBlock(type, media)),
        ].join('\n'),
    '<h4>Responses</h4>',
    ...Object.entries(op.responses ?? {}).flatMap(([status, response]) => {
      const value = inlined(response);
      return value === undefined ? [] : [responseBlock(status, value)];
    }),
    '</article>',
  ].join('\n');
}

interface Operation {
  path: string;
  method: string;
  op: OperationObject;
}

function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    OPERATION_METHODS.flatMap((method) => {
      const op = item?.[method];
      return op === undefined ? [] : [{ path, method, op }];
    }),
  );
}

function errorsBlock(operations: Operation[]): string {
  const usedBy = new Map<string, Operation[]>();
  for (const operation of operations)
    for (const response of Object.values(operation.op.responses ?? {}))
      for (const media of Object.values(inlined(response)?.content ?? {}))
        for (const example of Object.values(media.examples ?? {})) {
          const code = (inlined(example)?.value as { code?: unknown } | undefined)?.code;
          if (typeof code === 'string' && !(usedBy.get(code) ?? []).includes(operation))
            usedBy.set(code, [...(usedBy.get(code) ?? []), operation]);
        }
  const rows = Object.entries(ERROR_STATUS).map(([code, status]) => {
    const ops = (usedBy.get(code) ?? []).map(
      ({ op, method, path }) =>
        `<a href="#${anchor('op', op.operationId ?? `${method}-${path}`)}">${esc(op.operationId ?? path)}</a>`,
    );
    return `<tr><td><code>${esc(code)}</code></td><td>${status}</td><td>${
      ops.length === 0 ? (code === 'ROUTE_NOT_FOUND' ? 'any unknown route' : '—') : ops.join(', ')
    }</td></tr>`;
  });
  return [
    '<section id="errors"><h2>Error codes</h2>',
    '<p>Every error is a <a href="#schema-Problem">Problem</a> (<code>application/problem+json</code>) with a stable <code>code</code>; scripts act on <code>code</code>, <code>detail</code> is for people.</p>',
    `<table class="fields"><thead><tr><th>Code</th><th>Status</th><th>Returned by</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`,
    '</section>',
  ].join('\n');
}

function schemasBlock(schemas: Record<string, SchemaObject>): string {
  return [
    '<section id="schemas"><h2>Schemas</h2>',
    ...Object.entries(schemas).map(([name, schema]) =>
      [
        `<section class="schema" id="${anchor('schema', name)}"><h3>${esc(name)}</h3>`,
        prose(schema.description),
        schemaBlock(schema),
        'examples' in schema && Array.isArray(schema.examples) && schema.examples.length > 0
          ? exampleBlock(schema.examples[0])
          : '',
        '</section>',
      ].join('\n'),
    ),
    '</section>',
  ].join('\n');
}

/** The whole page, from the document. */
export function renderDocsPage(document: OpenApiDocument): string {
  const operations = operationsOf(document);
  const tags = [
    ...(document.tags ?? []),
    ...[...new Set(operations.flatMap(({ op }) => op.tags ?? []))]
      .filter((name) => !(document.tags ?? []).some((t) => t.name === name))
      .map((name) => ({ name, description: undefined })),
  ];
  const untagged = operations.filter(({ op }) => (op.tags ?? []).length === 0);
  const groups = [
    ...tags.map((tag) => ({ ...tag, ops: operations.filter(({ op }) => (op.tags ?? [])[0] === tag.name) })),
    ...(untagged.length === 0 ? [] : [{ name: 'other', description: undefined, ops: untagged }]),
  ].filter((group) => group.ops.length > 0);
  const schemas = document.components?.schemas ?? {};
  const link = ({ op, method, path }: Operation) =>
    `<li><a href="#${anchor('op', op.operationId ?? `${method}-${path}`)}"><span class="method method-${method}">${method.toUpperCase()}</span> ${esc(path)}</a></li>`;
  const { title, version, description } = document.info;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} API reference</title>
<link rel="stylesheet" href="${DOCS_STYLESHEET_PATH}">
</head>
<body>
<nav class="toc">
<p class="brand"><a href="#top">${esc(title)}</a> <span class="version">${esc(version)}</span></p>
<ul>
<li><a href="#authentication">Authentication</a></li>
${groups.map((g) => `<li><a href="#${anchor('tag', g.name)}">${esc(g.name)}</a><ul>${g.ops.map(link).join('')}</ul></li>`).join('\n')}
<li><a href="#errors">Error codes</a></li>
<li><a href="#schemas">Schemas</a><ul>${Object.keys(schemas)
    .map((name) => `<li><a href="#${anchor('schema', name)}">${esc(name)}</a></li>`)
    .join('')}</ul></li>
</ul>
</nav>
<main id="top">
<header>
<h1>${esc(title)} API reference</h1>
<p class="meta">Version ${esc(version)} · OpenAPI ${esc(document.openapi)} · machine-readable: <a href="/openapi.json">/openapi.json</a></p>
${prose(description)}
</header>
<section id="authentication"><h2>Authentication</h2>
${Object.entries(document.components?.securitySchemes ?? {})
  .flatMap(([name, reference]) => {
    const scheme = inlined(reference);
    return scheme === undefined ? [] : [[name, scheme] as const];
  })
  .map(
    ([name, scheme]) =>
      `<p><code>${esc(name)}</code>: ${esc(scheme.type)}${'scheme' in scheme ? ` ${esc(scheme.scheme)}` : ''}. ${inline(scheme.description ?? '')}</p>`,
  )
  .join('\n')}
<p>Operations marked “Needs a bearer token” answer 401 <code>UNAUTHORIZED</code> without a valid token, and 403 <code>FORBIDDEN</code> when the token lacks the permission.</p>
</section>
${groups
  .map((g) =>
    [
      `<section class="tag" id="${anchor('tag', g.name)}"><h2>${esc(g.name)}</h2>`,
      prose(g.description),
      ...g.ops.map(({ path, method, op }) => operationBlock(path, method, op)),
      '</section>',
    ].join('\n'),
  )
  .join('\n')}
${errorsBlock(operations)}
${schemasBlock(schemas)}
</main>
</body>
</html>
`;
}

export const DOCS_CSS = `:root {
  color-scheme: light dark;
  --fg: #1d232b;
  --muted: #5b6673;
  --bg: #ffffff;
  --panel: #f5f7f9;
  --line: #d9dee4;
  --link: #0b5cad;
  --get: #1f6feb;
  --post: #1a7f37;
  --patch: #9a6700;
  --delete: #cf222e;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3;
    --muted: #9aa6b2;
    --bg: #0f1419;
    --panel: #171d24;
    --line: #2d3640;
    --link: #6cb6ff;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0;
  display: grid;
  grid-template-columns: 19rem minmax(0, 1fr);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg);
  background: var(--bg);
}
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.88em; }
.toc {
  position: sticky;
  top: 0;
  height: 100vh;
  overflow-y: auto;
  padding: 1rem;
  border-right: 1px solid var(--line);
  background: var(--panel);
  font-size: 0.88rem;
}
.toc ul { list-style: none; margin: 0; padding-left: 0.75rem; }
.toc > ul { padding-left: 0; }
.toc li { margin: 0.15rem 0; }
.brand { font-weight: 700; font-size: 1.1rem; margin-top: 0; }
.version { color: var(--muted); font-weight: 400; font-size: 0.85rem; }
main { padding: 1.5rem 2.5rem 4rem; max-width: 72rem; }
h1 { margin-top: 0; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: 0.3rem; margin-top: 2.5rem; }
h4 { margin: 1.2rem 0 0.4rem; }
h5 { margin: 0.6rem 0 0.3rem; font-size: 0.95rem; }
.meta, .label, .media-type, .constraints, .headers { color: var(--muted); font-size: 0.88rem; }
.label { margin: 0.5rem 0 0.2rem; }
.operation, .schema {
  border: 1px solid var(--line);
  border-radius: 6px;
  padding: 0.5rem 1.2rem 1rem;
  margin: 1.2rem 0;
}
.summary { font-weight: 600; }
.method {
  display: inline-block;
  min-width: 4.2em;
  padding: 0 0.35em;
  border-radius: 4px;
  color: #fff;
  font: 700 0.75rem/1.6 ui-monospace, monospace;
  text-align: center;
  background: var(--muted);
}
.method-get { background: var(--get); }
.method-post { background: var(--post); }
.method-patch, .method-put { background: var(--patch); }
.method-delete { background: var(--delete); }
.path { font-size: 1rem; }
.status { font-family: ui-monospace, monospace; font-weight: 700; margin-right: 0.4em; }
.status-2xx { color: var(--post); }
.status-4xx { color: var(--patch); }
.status-5xx { color: var(--delete); }
.response { border-top: 1px dashed var(--line); padding-top: 0.2rem; }
.media { margin-left: 0.5rem; }
table.fields { border-collapse: collapse; width: 100%; margin: 0.3rem 0 0.6rem; font-size: 0.88rem; }
table.fields th, table.fields td { border: 1px solid var(--line); padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
table.fields th { background: var(--panel); }
pre {
  background: var(--panel);
  border: 1px solid var(--line);
  border-radius: 4px;
  padding: 0.6rem 0.8rem;
  overflow-x: auto;
  max-height: 28rem;
  white-space: pre-wrap;
  word-break: break-all;
}
details { margin: 0.4rem 0; }
summary { cursor: pointer; color: var(--link); font-size: 0.88rem; }
/* Long paths, field names and codes break rather than widen the page on a phone. */
main { min-width: 0; }
h2, h3, h4, .toc, table.fields th, table.fields td, main p, main li { overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  table.fields { table-layout: fixed; }
  .operation, .schema { padding: 0.5rem 0.6rem 0.8rem; }
  .media { margin-left: 0; }
}
@media (max-width: 60rem) {
  body { display: block; }
  .toc { position: static; height: auto; border-right: 0; border-bottom: 1px solid var(--line); }
  main { padding: 1rem; }
}
`;
