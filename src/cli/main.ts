#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { EXIT, RefusedError, UsageError } from './cli-errors.js';
import { inspectCommand } from './commands/inspect.js';
import { issueCommand } from './commands/issue.js';
import { keygenCommand } from './commands/keygen.js';
import { serveCommand } from './commands/serve.js';

const program = new Command('licensor')
  .description('Self-hosted license and seat manager')
  .version(VERSION)
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');
for (const add of [serveCommand, keygenCommand, issueCommand, inspectCommand]) add(program);
for (const command of program.commands) command.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    const ok =
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help';
    process.exitCode = ok ? EXIT.ok : EXIT.usage;
  } else if (err instanceof UsageError) {
    process.stderr.write(`licensor: ${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (err instanceof RefusedError) {
    process.stderr.write(`licensor: ${err.code}: ${err.message}\n`);
    process.exitCode = EXIT.refused;
  } else {
    process.stderr.write(`licensor: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.refused;
  }
}
