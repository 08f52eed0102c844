#!/usr/bin/env node
import { CommanderError } from 'commander';
import { buildProgram } from './buildProgram.js';
import { EXIT_ERROR } from './exitCodes.js';

let exitCode = 0;
const program = buildProgram({
  env: process.env,
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  setExit: (c) => (exitCode = c),
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors were already printed by commander.
    exitCode = err.exitCode === 0 ? 0 : EXIT_ERROR;
  } else {
    const e = err as Error & { code?: string };
    process.stderr.write(`meshcache: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    exitCode = EXIT_ERROR;
  }
}
// stdout may be a pipe: let it drain before exiting.
process.stdout.write('', () => process.exit(exitCode));
