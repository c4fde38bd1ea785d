import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LicensorError } from '../../domain/errors.js';
import { checkWebhookUrl, normaliseEventFilter } from '../../domain/webhooks.js';
import { generateWebhookSecret } from '../../keys/webhook-signature.js';
import type { DeliveryAttempt, WebhookRecord } from '../../store/webhook-store.js';
import type { AppContext } from '../app-context.js';
import { changeContext } from '../audit.js';
import { BODY_ERRORS, PERMISSION_ERRORS, problemResponses } from '../problem-responses.js';
import {
  CreatedWebhook,
  CreateWebhookBody,
  DeliveryPage,
  DeliveryQuery,
  PatchWebhookBody,
  QueuedPing,
  Webhook,
  WebhookIdParams,
  WebhookList,
} from '../../api/webhook-schemas.js';
import { parseId } from './license-routes.js';

const security = [{ bearer: [] }];
const access = 'APPLICATION_ADMIN' as const;
const tags = ['webhooks'];

export function webhookView(webhook: WebhookRecord) {
  return {
    ...webhook,
    createdAt: webhook.createdAt.toISOString(),
    updatedAt: webhook.updatedAt.toISOString(),
    lastFailedAt: webhook.lastFailedAt?.toISOString() ?? null,
  };
}

function attemptView(a: DeliveryAttempt) {
  return {
    id: a.id,
    eventId: a.eventId,
    eventType: a.eventType,
    attempt: a.attempt,
    at: a.at.toISOString(),
    durationMs: a.durationMs,
    statusCode: a.statusCode,
    error: a.error,
    outcome: a.outcome,
    nextRetryAt: a.nextRetryAt?.toISOString() ?? null,
  };
}

/** Webhook endpoints, their test ping and delivery log (docs/webhooks.md). */
export const webhookRoutes: FastifyPluginAsyncTypebox<AppContext> = async (app, { store, clock }) => {
  const hooks = store.webhooks;
  const idErrors = ['INVALID_ID', 'WEBHOOK_NOT_FOUND'] as const;

  app.post(
    '/admin/webhooks',
    {
      config: { access, audit: { action: 'webhook.create' } },
      schema: {
        operationId: 'createWebhook',
        tags,
        summary: 'Add a webhook endpoint (the signing secret is shown once)',
        description:
          'Events of the listed types are POSTed there, signed per Standard Webhooks with the secret in this response; keep it, it cannot be shown again. See docs/webhooks.md.',
        security,
        body: CreateWebhookBody,
        response: {
          201: CreatedWebhook,
          ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS, 'INVALID_WEBHOOK_URL'),
        },
      },
    },
    async (request, reply) => {
      const secret = generateWebhookSecret();
      const webhook = await hooks.createWebhook(
        {
          url: checkWebhookUrl(request.body.url),
          events: normaliseEventFilter(request.body.events),
          description: request.body.description ?? null,
          secret,
        },
        changeContext(request, clock),
      );
      return reply.code(201).send({ ...webhookView(webhook), secret });
    },
  );

  app.get(
    '/admin/webhooks',
    {
      config: { access },
      schema: {
        operationId: 'listWebhooks',
        tags,
        summary: 'Webhook endpoints, with their pending and failed deliveries',
        security,
        response: { 200: WebhookList, ...problemResponses(...PERMISSION_ERRORS) },
      },
    },
    async () => (await hooks.listWebhooks()).map(webhookView),
  );

  app.get(
    '/admin/webhooks/:id',
    {
      config: { access },
      schema: {
        operationId: 'getWebhook',
        tags,
        summary: 'One webhook endpoint',
        security,
        params: WebhookIdParams,
        response: { 200: Webhook, ...problemResponses(...PERMISSION_ERRORS, ...idErrors) },
      },
    },
    async (request) => {
      const id = parseId(request.params.id);
      const webhook = await hooks.getWebhook(id);
      if (webhook === undefined) throw new LicensorError('WEBHOOK_NOT_FOUND', `no webhook with id ${id}`);
      return webhookView(webhook);
    },
  );

  app.patch(
    '/admin/webhooks/:id',
    {
      config: { access, audit: { action: 'webhook.update', target: 'webhook' } },
      schema: {
        operationId: 'updateWebhook',
        tags,
        summary: 'Change an endpoint: url, events, description, enabled',
        description:
          'enabled: false pauses it (nothing is sent, new events are not queued for it); true resumes its pending deliveries.',
        security,
        params: WebhookIdParams,
        body: PatchWebhookBody,
        response: {
          200: Webhook,
          ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS, ...idErrors, 'INVALID_WEBHOOK_URL'),
        },
      },
    },
    async (request) => {
      const id = parseId(request.params.id);
      const { url, events, description, enabled } = request.body;
      const webhook = await hooks.updateWebhook(
        id,
        {
          ...(url !== undefined && { url: checkWebhookUrl(url) }),
          ...(events !== undefined && { events: normaliseEventFilter(events) }),
          ...(description !== undefined && { description }),
          ...(enabled !== undefined && { enabled }),
        },
        changeContext(request, clock),
      );
      return webhookView(webhook);
    },
  );

  app.delete(
    '/admin/webhooks/:id',
    {
      config: { access, audit: { action: 'webhook.delete', target: 'webhook' } },
      schema: {
        operationId: 'deleteWebhook',
        tags,
        summary: 'Remove an endpoint, its pending deliveries and its delivery log',
        security,
        params: WebhookIdParams,
        response: { 200: Webhook, ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS, ...idErrors) },
      },
    },
    async (request) =>
      webhookView(await hooks.deleteWebhook(parseId(request.params.id), changeContext(request, clock))),
  );

  app.post(
    '/admin/webhooks/:id/test',
    {
      config: { access, audit: { action: 'webhook.test', target: 'webhook' } },
      schema: {
        operationId: 'testWebhook',
        tags,
        summary: 'Queue a ping event to this endpoint',
        description:
          'The ping is delivered like any event (signed, retried); its attempts show in the delivery log.',
        security,
        params: WebhookIdParams,
        response: { 202: QueuedPing, ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS, ...idErrors) },
      },
    },
    async (request, reply) => {
      const event = await hooks.queuePing(parseId(request.params.id), changeContext(request, clock));
      return reply
        .code(202)
        .send({ id: event.id, type: event.type, timestamp: event.timestamp.toISOString() });
    },
  );

  app.get(
    '/admin/webhooks/:id/deliveries',
    {
      config: { access },
      schema: {
        operationId: 'listWebhookDeliveries',
        tags,
        summary: "An endpoint's delivery attempts, newest first",
        description:
          'Each attempt: the event id and type, when, the HTTP status or the error, how long it took, and when it is tried again.',
        security,
        params: WebhookIdParams,
        querystring: DeliveryQuery,
        response: {
          200: DeliveryPage,
          ...problemResponses(...PERMISSION_ERRORS, ...idErrors, 'VALIDATION_FAILED'),
        },
      },
    },
    async (request) => {
      const { offset, size } = request.query;
      const { attempts, total } = await hooks.listDeliveries(parseId(request.params.id), { offset, size });
      return { offset, size, total, attempts: attempts.map(attemptView) };
    },
  );
};
