#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { EXIT, RefusedError, UnreachableError, UsageError } from './cli-errors.js';
import { auditCommand } from './commands/audit-command.js';
import { inspectCommand } from './commands/inspect.js';
import { issueCommand } from './commands/issue.js';
import { keygenCommand } from './commands/keygen.js';
import { licenseCommands } from './commands/license-commands.js';
import { reportCommands } from './commands/report-commands.js';
import { serveCommand } from './commands/serve.js';
import { settingsCommands } from './commands/settings-commands.js';
import { tokenCommands } from './commands/token-commands.js';
import { userCommands } from './commands/user-commands.js';
import { webhookCommands } from './commands/webhook-commands.js';
import { DEFAULT_URL, withConnectionOptions } from './connect.js';
import { repeatable } from './option-values.js';

const HELP_AFTER = `
Administrator commands (add ... audit) talk to a running server. Their --url,
--token and --json options may be given before or after the command name.

Environment:
  LICENSOR_URL       server URL (default ${DEFAULT_URL})
  LICENSOR_HOST, LICENSOR_PORT
                     without --url and LICENSOR_URL: the server at this host and
                     port, as \`licensor serve\` reads them (0.0.0.0 means 127.0.0.1)
  LICENSOR_TOKEN     bearer token (safer than --token, which other users can see)
  LICENSOR_DATA_DIR  with neither set and a server on this machine, the token is
                     read from DATA_DIR/admin-token (default ./data)
  NO_COLOR           never colour the output (it is coloured only on a terminal)

Exit codes: 0 success, 1 a refused operation (its code is printed on stderr),
2 a usage error. \`status --check\` follows the monitoring-plugins convention
instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

Examples:
  licensor add --file customer.jwt
  licensor status --json
  licensor users add ada --iamid okta --email ada@example.com
  licensor tokens create "host product" --permission USER_ADMIN
  licensor report export --from 2026-01-01 --to 2026-03-31 --out q1.jws
  licensor report verify q1.jws --instance-key jwks.json
Run licensor COMMAND --help for a command's options.`;

const program = new Command('licensor')
  .description('Self-hosted license and seat manager')
  .version(VERSION)
  // Options before a command name are the program's, after it the command's: the same flag
  // (--json) can belong to both without one swallowing the other.
  .enablePositionalOptions()
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', HELP_AFTER);
withConnectionOptions(program);
for (const add of [
  serveCommand,
  keygenCommand,
  issueCommand,
  inspectCommand,
  licenseCommands,
  userCommands,
  settingsCommands,
  tokenCommands,
  auditCommand,
  reportCommands,
  webhookCommands,
])
  add(program);
/**
 * An option that takes one value, given twice to the same command, is a usage error: commander
 * would keep the last one without a word (`users add ada --email a@x --email b@x`). So is one of
 * the program's options given both before and after the command name (`--url A status --url B`),
 * where the command's would win.
 */
const refuseRepeats = (command: Command): void => {
  for (const option of command.options) {
    if (option.variadic || option.parseArg === repeatable || !(option.required || option.optional)) continue;
    const name = option.attributeName();
    let seen = 0;
    command.on(`option:${option.name()}`, () => {
      let before = false;
      for (let up = command.parent; up; up = up.parent)
        before ||=
          up.options.some((o) => o.attributeName() === name) && up.getOptionValueSource(name) === 'cli';
      if (++seen > 1 || before)
        command.error(`error: option '${option.flags}' given more than once`, {
          code: 'licensor.repeatedOption',
          exitCode: EXIT.usage,
        });
    });
  }
};
const configureAll = (command: Command): void => {
  refuseRepeats(command);
  for (const sub of command.commands) {
    sub.exitOverride();
    configureAll(sub);
  }
};
configureAll(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has printed its message; help asked for is success, help shown for a mistake is not.
    const ok =
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      (err.code === 'commander.help' && err.exitCode === 0);
    // `help NAME` for a name that is no command shows the program's help: say why.
    const [first, name] = program.args;
    if (!ok && first === 'help' && name !== undefined)
      process.stderr.write(`licensor: help: unknown command '${name}'\n`);
    process.exitCode = ok ? EXIT.ok : EXIT.usage;
  } else if (err instanceof UsageError) {
    process.stderr.write(`licensor: ${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (err instanceof RefusedError) {
    process.stderr.write(`licensor: ${err.code}: ${err.message}\n`);
    process.exitCode = EXIT.refused;
  } else if (err instanceof UnreachableError) {
    process.stderr.write(`licensor: ${err.message}\n`);
    process.exitCode = EXIT.refused;
  } else {
    process.stderr.write(`licensor: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.refused;
  }
}
