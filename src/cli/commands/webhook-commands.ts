import type { Command } from 'commander';
import { EVENT_TYPES, isEventType } from '../../domain/events.js';
import { UsageError } from '../cli-errors.js';
import { call, connect, withConnectionOptions } from '../connect.js';
import { idArgument, pageOf, type PageOptions, repeatable } from '../option-values.js';
import { formatTime, pageLine, printable } from '../output.js';

/** `--event` values, repeated or comma-separated: event types or `*`; all of them when none. */
function eventsOf(values: string[]): string[] {
  // No --event is every type; an --event that names none (`--event ""`, `--event ,`) is a mistake,
  // not every type, as the API refuses an empty list.
  if (values.length === 0) return ['*'];
  const names = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  for (const name of names)
    if (name !== '*' && !isEventType(name))
      throw new UsageError(
        name === ''
          ? '--event names no event type (leave it out for every type)'
          : `--event must be * or one of ${EVENT_TYPES.join(', ')}, not "${name}"`,
      );
  return names;
}

/** `licensor webhooks ...` and `licensor events`: where events go, and the event log (docs/webhooks.md). */
export function webhookCommands(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .description('webhook endpoints: list, add, remove, test, deliveries (APPLICATION_ADMIN)')
    .usage('<list|add|remove|test|deliveries> [options]');

  withConnectionOptions(
    webhooks.command('list').description('the endpoints and their pending and failed deliveries'),
  ).action(async (_options: unknown, command: Command) => {
    const conn = connect(command);
    const list = await call(conn, (c) => c.listWebhooks());
    if (conn.out.json) {
      conn.out.printJson(list);
      return;
    }
    if (list.length === 0) {
      conn.out.print('No webhook endpoints.');
      return;
    }
    conn.out.table(
      [
        { header: 'ID', align: 'right' },
        { header: 'URL' },
        { header: 'EVENTS' },
        { header: 'STATE' },
        { header: 'PENDING', align: 'right' },
        { header: 'FAILED', align: 'right' },
      ],
      list.map((w) => [
        String(w.id),
        printable(w.url),
        w.events.join(','),
        w.enabled ? { text: 'enabled', style: 'green' } : { text: 'paused', style: 'yellow' },
        String(w.pendingDeliveries),
        w.failedDeliveries > 0
          ? { text: String(w.failedDeliveries), style: 'red' }
          : { text: '0', style: undefined },
      ]),
    );
  });

  withConnectionOptions(
    webhooks
      .command('add')
      .description('add an endpoint; its signing secret is printed once and never again')
      .argument('<url>', 'http: or https: URL the events are POSTed to')
      .option('--event <type>', 'an event type, or * (repeatable; default *)', repeatable, [])
      .option('--description <text>', 'what the endpoint is for'),
  ).action(async (url: string, options: { event: string[]; description?: string }, command: Command) => {
    const events = eventsOf(options.event);
    const conn = connect(command);
    const created = await call(conn, (c) =>
      c.createWebhook({
        url,
        events,
        ...(options.description !== undefined && { description: options.description }),
      }),
    );
    if (conn.out.json) {
      conn.out.printJson(created);
      return;
    }
    conn.out.print(
      `Added webhook ${created.id} for ${created.events.join(', ')} to ${printable(created.url)}. ` +
        'Its signing secret is shown only now:',
      created.secret,
    );
  });

  withConnectionOptions(
    webhooks
      .command('remove')
      .description('remove an endpoint with its pending deliveries and its log')
      .argument('<id>', 'the endpoint id (see webhooks list)'),
  ).action(async (rawId: string, _options: unknown, command: Command) => {
    const id = idArgument('the webhook id', rawId);
    const conn = connect(command);
    const removed = await call(conn, (c) => c.deleteWebhook(id));
    if (conn.out.json) conn.out.printJson(removed);
    else conn.out.print(`Removed webhook ${removed.id} (${printable(removed.url)}).`);
  });

  withConnectionOptions(
    webhooks
      .command('test')
      .description('queue a ping event to an endpoint; see its deliveries for the answer')
      .argument('<id>', 'the endpoint id'),
  ).action(async (rawId: string, _options: unknown, command: Command) => {
    const id = idArgument('the webhook id', rawId);
    const conn = connect(command);
    const ping = await call(conn, (c) => c.testWebhook(id));
    if (conn.out.json) conn.out.printJson(ping);
    else
      conn.out.print(
        `Queued ping ${ping.id} to webhook ${id}; \`licensor webhooks deliveries ${id}\` shows how it went.`,
      );
  });

  withConnectionOptions(
    webhooks
      .command('deliveries')
      .description("an endpoint's delivery attempts, newest first")
      .argument('<id>', 'the endpoint id')
      .option('--offset <n>', 'index of the first attempt (default 0)')
      .option('--size <n>', 'attempts per page, 1 to 1000 (default 10)'),
  ).action(async (rawId: string, options: PageOptions, command: Command) => {
    const id = idArgument('the webhook id', rawId);
    const page = pageOf(options);
    const conn = connect(command);
    const log = await call(conn, (c) => c.webhookDeliveries(id, page));
    if (conn.out.json) {
      conn.out.printJson(log);
      return;
    }
    if (log.total === 0) {
      conn.out.print(`No delivery attempts to webhook ${id} yet.`);
      return;
    }
    if (log.attempts.length > 0)
      conn.out.table(
        [
          { header: 'AT (UTC)' },
          { header: 'EVENT' },
          { header: 'TYPE' },
          { header: '#', align: 'right' },
          { header: 'RESULT' },
          { header: 'MS', align: 'right' },
          { header: 'NEXT RETRY' },
        ],
        log.attempts.map((a) => [
          formatTime(a.at),
          a.eventId,
          a.eventType,
          String(a.attempt),
          a.outcome === 'delivered'
            ? { text: `delivered ${a.statusCode ?? ''}`.trimEnd(), style: 'green' }
            : {
                text: `${a.outcome} ${printable(a.error ?? String(a.statusCode ?? ''))}`,
                style: a.outcome === 'failed' ? 'red' : 'yellow',
              },
          String(a.durationMs),
          a.nextRetryAt === null ? '-' : formatTime(a.nextRetryAt),
        ]),
      );
    conn.out.print(pageLine(log.offset, log.attempts.length, log.total, 'attempts'));
  });

  withConnectionOptions(
    program
      .command('events')
      .description('the event log, newest first (APPLICATION_ADMIN)')
      .option('--type <type>', 'only events of this type')
      .option('--offset <n>', 'index of the first event (default 0)')
      .option('--size <n>', 'events per page, 1 to 1000 (default 10)'),
  ).action(async (options: PageOptions & { type?: string }, command: Command) => {
    if (options.type !== undefined && !isEventType(options.type))
      throw new UsageError(`--type must be one of ${EVENT_TYPES.join(', ')}, not "${options.type}"`);
    const page = pageOf(options);
    const conn = connect(command);
    const events = await call(conn, (c) => c.events({ ...page, type: options.type }));
    if (conn.out.json) {
      conn.out.printJson(events);
      return;
    }
    if (events.total === 0) {
      conn.out.print('No events.');
      return;
    }
    if (events.events.length > 0)
      conn.out.table(
        [{ header: 'AT (UTC)' }, { header: 'TYPE' }, { header: 'ID' }, { header: 'DATA' }],
        events.events.map((e) => [formatTime(e.timestamp), e.type, e.id, printable(summary(e.data))]),
      );
    conn.out.print(pageLine(events.offset, events.events.length, events.total, 'events'));
  });
}

/** The gist of an event's data on one line: the license or the seat figures. */
function summary(data: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof data.uuid === 'string') parts.push(`license ${String(data.id)} ${data.uuid}`);
  if (typeof data.daysLeft === 'number') parts.push(`${data.daysLeft} days left`);
  if (typeof data.percent === 'number') parts.push(`${data.percent} %`);
  if (typeof data.activeUserCount === 'number')
    parts.push(`${data.activeUserCount} active of ${String(data.licenseSeats)} seats`);
  if (typeof data.count === 'number') parts.push(`${data.count} refused`);
  return parts.join(', ') || '-';
}
