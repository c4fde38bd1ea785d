import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { Token } from './schemas/admin-schemas.js';
import { License, LicenseImpact, LicenseListItem, LicenseStatus } from './schemas/license-schemas.js';
import { Usage } from './schemas/usage-schemas.js';
import { User } from './schemas/user-schemas.js';

/** The parts of an OpenAPI 3.1 document that the reference page and the tests read. */
export interface SchemaObject {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: SchemaObject[];
  oneOf?: SchemaObject[];
  allOf?: SchemaObject[];
  items?: SchemaObject;
  properties?: Record<string, SchemaObject>;
  required?: string[];
  additionalProperties?: boolean | SchemaObject;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  [keyword: string]: unknown;
}
export interface MediaTypeObject {
  schema?: SchemaObject;
  example?: unknown;
  examples?: Record<string, { summary?: string; value?: unknown }>;
}
export interface ResponseObject {
  description: string;
  headers?: Record<string, { description?: string; schema?: SchemaObject }>;
  content?: Record<string, MediaTypeObject>;
}
export interface ParameterObject {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: SchemaObject;
}
export interface OperationObject {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; description?: string; content?: Record<string, MediaTypeObject> };
  responses?: Record<string, ResponseObject>;
}
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths?: Record<string, Record<string, OperationObject>>;
  components?: {
    schemas?: Record<string, SchemaObject>;
    securitySchemes?: Record<string, { type: string; scheme?: string; description?: string }>;
  };
}

/**
 * The models that are components of the document besides Problem (a shared schema of the app,
 * which routes reference as `Problem#`). Wherever a route schema uses one, the document has a $ref
 * to its component instead: the transform below changes only the document, never what Fastify
 * validates or serializes, and the app's shared schemas stay few (each is compiled into every
 * route's serializers).
 */
const COMPONENT_MODELS = new Map<string, object>(
  [License, LicenseListItem, LicenseStatus, LicenseImpact, Usage, User, Token].map((model) => [
    String((model as { $id?: unknown }).$id),
    model,
  ]),
);

const TAGS = [
  { name: 'licenses', description: "License keys: Immuta's admin license API (2023.2)." },
  { name: 'usage', description: 'Who uses the seats, now and day by day.' },
  { name: 'users', description: 'The host product registers its users and reports their activity.' },
  {
    name: 'settings',
    description: "The customer's seat policy: a user cap below the licenses, and refuse or queue when full.",
  },
  { name: 'host product', description: 'What the licensed product asks on every login.' },
  { name: 'tokens', description: 'API tokens and their permissions.' },
  {
    name: 'instance',
    description: 'Who this installation is, and the keys that sign its usage reports and entitlements.',
  },
  {
    name: 'audit',
    description:
      'Every change and every refused change, written in the same transaction as the change; every 403; failed authentications counted per minute and address.',
  },
  { name: 'events', description: 'What changed and when: the outbox that webhooks deliver from.' },
  {
    name: 'webhooks',
    description:
      'Endpoints the events are POSTed to, signed per Standard Webhooks, at least once, with retries; their delivery log.',
  },
  { name: 'operations', description: 'Liveness, readiness and metrics.' },
];

/** Keywords whose values are data, not schemas: nothing below them is a model. */
const DATA_KEYWORDS = new Set(['examples', 'example', 'default', 'const', 'enum']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of `schema` with every component model in it replaced by a $ref to its component. */
function referenceModels(schema: unknown, root = false): unknown {
  if (Array.isArray(schema)) return schema.map((s) => referenceModels(s));
  if (!isObject(schema)) return schema;
  if (!root && typeof schema.$id === 'string' && COMPONENT_MODELS.has(schema.$id))
    return { $ref: `#/components/schemas/${schema.$id}` };
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      DATA_KEYWORDS.has(key) ? value : referenceModels(value),
    ]),
  );
}

/** A media type object whose example is lifted from the schema's first `examples` entry. */
function documentMedia(media: Record<string, unknown>): Record<string, unknown> {
  const schema = media.schema;
  const examples = isObject(schema) ? schema.examples : undefined;
  const lifted =
    media.example === undefined && media.examples === undefined && Array.isArray(examples)
      ? { example: examples[0] as unknown }
      : {};
  const referenced = referenceModels(schema);
  // The example now sits beside the schema; a model keeps its own in its component.
  if (isObject(referenced) && 'example' in lifted) delete referenced.examples;
  return { ...media, schema: referenced, ...lifted };
}

/**
 * Every response in the content form (`description` + `content` by media type), so each has a
 * description, an example and, for models, a $ref. A plain schema is JSON.
 */
function documentResponse(response: unknown): unknown {
  if (!isObject(response)) return response;
  if (isObject(response.content)) {
    const content = Object.fromEntries(
      Object.entries(response.content).map(([type, media]) => [
        type,
        isObject(media) ? documentMedia(media) : media,
      ]),
    );
    return { ...response, content };
  }
  return {
    description: typeof response.description === 'string' ? response.description : 'Default Response',
    content: { 'application/json': documentMedia({ schema: response }) },
  };
}

function documentRoute({ schema, url }: { schema: FastifySchema; url: string }) {
  if (schema === undefined || schema.hide === true || !isObject(schema.response)) return { schema, url };
  const response = Object.fromEntries(
    Object.entries(schema.response).map(([status, r]) => [status, documentResponse(r)]),
  );
  return { schema: { ...schema, response }, url };
}

/** `anyOf` of single-value enums of one type, as TypeBox writes unions of literals, is one enum. */
function mergeLiteralUnions(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(mergeLiteralUnions);
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) if (!DATA_KEYWORDS.has(key)) mergeLiteralUnions(value);
  const members = node.anyOf;
  if (!Array.isArray(members) || members.length < 2) return;
  const literals = members.filter(
    (m): m is { type: string; enum: [unknown] } =>
      isObject(m) &&
      Object.keys(m).length === 2 &&
      typeof m.type === 'string' &&
      Array.isArray(m.enum) &&
      m.enum.length === 1,
  );
  const type = literals[0]?.type;
  if (literals.length !== members.length || literals.some((m) => m.type !== type)) return;
  delete node.anyOf;
  node.type = type;
  node.enum = literals.map((m) => m.enum[0]);
}

function finishDocument(document: OpenApiDocument): OpenApiDocument {
  for (const pathItem of Object.values(document.paths ?? {}))
    for (const operation of Object.values(pathItem))
      for (const parameter of operation.parameters ?? [])
        // A query parameter with a default need not be sent, whatever the schema's `required` says.
        if (parameter.in === 'query' && parameter.schema?.default !== undefined) parameter.required = false;
  mergeLiteralUnions(document.components);
  mergeLiteralUnions(document.paths);
  return document;
}

/** The options of @fastify/swagger: the document's header and how routes become operations. */
export function openapiOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Licensor',
        version,
        description: [
          "Self-hosted license and seat manager. The /admin/license endpoints follow Immuta's admin license API (2023.2); everything else is Licensor's own.",
          'Every route but the public ones needs `Authorization: Bearer <token>`; a token holds the permissions APPLICATION_ADMIN and/or USER_ADMIN.',
          'Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`; docs/errors.md lists every code. An unknown route is 404 ROUTE_NOT_FOUND.',
          'A rendered reference is served at /docs.',
        ].join('\n\n'),
      },
      tags: TAGS,
      components: {
        schemas: Object.fromEntries(
          [...COMPONENT_MODELS].map(([id, model]) => [id, referenceModels(model, true)]),
        ) as Record<string, never>,
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API token: `Authorization: Bearer <secret>`. Secrets start with `lsr_`.',
          },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transform: documentRoute,
    transformObject: (documentObject) =>
      'openapiObject' in documentObject
        ? finishDocument(documentObject.openapiObject as unknown as OpenApiDocument)
        : documentObject.swaggerObject,
  };
}
