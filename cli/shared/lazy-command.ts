/**
 * A yargs command whose module is imported only when that command runs or prints its own help, so
 * `--help` and every other verb start without its imports (the lab runtime, ink and react, the whole
 * library). yargs lists a command from its `command` and `describe` alone, so those two are repeated
 * here from the module; a unit test keeps them equal (test/unit/cli-lazy-commands.test.ts).
 */
import type { Argv, CommandModule } from 'yargs';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each verb has its own argument type
type AnyCommand = CommandModule<any, any>;

/** A command as yargs takes it, plus `load()` for the module behind it (tests, and verbs that need its exports). */
export type LazyCommand = AnyCommand & { load: () => Promise<AnyCommand> };

export interface LazyCommandSpec {
  /** The module's `command`, e.g. 'validate <file>'. */
  command: string;
  /** The module's `describe`. */
  describe: string;
  /** Imports the module and returns its CommandModule. */
  load: () => Promise<AnyCommand>;
}

/** A command for yargs that imports `spec.load()` on first use (its builder and handler). */
export function lazyCommand(spec: LazyCommandSpec): LazyCommand {
  let loaded: Promise<AnyCommand> | undefined;
  const load = () => (loaded ??= spec.load());
  return {
    command: spec.command,
    describe: spec.describe,
    load,
    builder: async (yargs: Argv) => {
      const { builder } = await load();
      if (typeof builder === 'function') return builder(yargs);
      return builder ? yargs.options(builder) : yargs;
    },
    handler: async (argv) => (await load()).handler(argv),
  };
}
