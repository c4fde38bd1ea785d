import type { Command } from 'commander';
import { call, connect, withConnectionOptions } from '../connect.js';
import { pageOf, type PageOptions } from '../option-values.js';
import { pageLine } from '../output.js';

/** `licensor audit`: who changed what, newest first. */
export function auditCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('audit')
      .description('the audit log, newest first (APPLICATION_ADMIN)')
      .option('--offset <n>', 'index of the first entry (default 0)')
      .option('--size <n>', 'entries per page, 1 to 1000 (default 10)'),
  ).action(async (options: PageOptions, command: Command) => {
    const page = pageOf(options);
    const conn = connect(command);
    const audit = await call(conn, (c) => c.audit(page));
    if (conn.out.json) {
      conn.out.printJson(audit);
      return;
    }
    if (audit.total === 0) {
      conn.out.print('The audit log is empty.');
      return;
    }
    if (audit.entries.length > 0)
      conn.out.table(
        [
          { header: 'ID', align: 'right' },
          { header: 'AT (UTC)' },
          { header: 'ACTOR' },
          { header: 'ACTION' },
          { header: 'TARGET' },
          { header: 'OUTCOME' },
          { header: 'FROM' },
        ],
        audit.entries.map((e) => [
          String(e.id),
          `${e.at.slice(0, 10)} ${e.at.slice(11, 19)}`,
          e.actorName ?? (e.actorTokenId === null ? '-' : `token ${e.actorTokenId}`),
          e.action,
          e.target ?? '-',
          e.outcome === 'success'
            ? { text: 'success', style: 'green' }
            : { text: `refused ${e.code ?? ''}`.trimEnd(), style: 'red' },
          e.clientAddress,
        ]),
      );
    conn.out.print(pageLine(audit.offset, audit.entries.length, audit.total, 'entries'));
  });
}
