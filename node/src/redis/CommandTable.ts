import { connectionCommands } from './commands/connectionCommands.js';
import { keyCommands } from './commands/keyCommands.js';
import { serverCommands } from './commands/serverCommands.js';
import { stringCommands } from './commands/stringCommands.js';
import { RedisCommand, type CommandSpec } from './RedisCommand.js';

/** Every command the front door serves. */
export const ALL_COMMAND_SPECS: readonly CommandSpec[] = [
  ...stringCommands,
  ...keyCommands,
  ...connectionCommands,
  ...serverCommands,
];

/**
 * Commands by name, case-insensitive. The lowercase and uppercase spellings
 * are both keys, so the usual forms (`get`, `GET`) resolve with one lookup
 * and no lowercasing; only mixed case pays for toLowerCase.
 */
export class CommandTable {
  private readonly byName = new Map<string, RedisCommand>();
  /** In definition order, for COMMAND. */
  readonly commands: readonly RedisCommand[];

  constructor(specs: readonly CommandSpec[] = ALL_COMMAND_SPECS) {
    const commands: RedisCommand[] = [];
    for (const spec of specs) {
      const cmd = new RedisCommand(spec);
      if (this.byName.has(cmd.name)) throw new Error(`command '${cmd.name}' defined twice`);
      this.byName.set(cmd.name, cmd);
      this.byName.set(cmd.name.toUpperCase(), cmd);
      commands.push(cmd);
    }
    this.commands = commands;
  }

  lookup(name: string): RedisCommand | undefined {
    return this.byName.get(name) ?? this.byName.get(name.toLowerCase());
  }

  get size(): number {
    return this.commands.length;
  }
}
