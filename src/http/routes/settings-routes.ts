import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../app-context.js';
import { changeContext } from '../audit.js';
import { BODY_ERRORS, PERMISSION_ERRORS, problemResponses } from '../problem-responses.js';
import { SeatSettings, SeatSettingsBody } from '../../api/settings-schemas.js';

const security = [{ bearer: [] }];
const access = 'APPLICATION_ADMIN' as const;

/** The customer's user cap and queue mode (docs/seats.md#user-cap-and-approval-queue). */
export const settingsRoutes: FastifyPluginAsyncTypebox<AppContext> = async (app, { store, clock }) => {
  app.get(
    '/admin/settings/seats',
    {
      config: { access },
      schema: {
        operationId: 'getSeatSettings',
        tags: ['settings'],
        summary: 'The user cap and what a full site does',
        security,
        response: { 200: SeatSettings, ...problemResponses(...PERMISSION_ERRORS) },
      },
    },
    async () => store.getSeatSettings(),
  );

  app.put(
    '/admin/settings/seats',
    {
      config: { access, audit: { action: 'settings.seats' } },
      schema: {
        operationId: 'putSeatSettings',
        tags: ['settings'],
        summary: 'Set the user cap and what a full site does',
        description:
          'Replaces both settings, audited. Every seat decision (create, re-enable, activity of an inactive user, approve) uses the seat limit min(licenseSeats, userCap) from then on, on every instance. Lowering the cap below the active count removes nobody: it only stops new seats, and licenseStatus shows overLimit.',
        security,
        body: SeatSettingsBody,
        response: { 200: SeatSettings, ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS) },
      },
    },
    async (request) =>
      store.setSeatSettings(
        { userCap: request.body.userCap, whenFull: request.body.whenFull },
        changeContext(request, clock),
      ),
  );
};
