#!/usr/bin/env node
/**
 * The one configstamp command. Each subcommand's module exports
 * `main(argv, env): Promise<number>` and owns its flags; this file only dispatches.
 */
import { ConfigstampError, ErrorCodes } from '../shared/errors.js';

type Main = (argv: readonly string[], env: Readonly<Record<string, string | undefined>>) => Promise<number>;

const COMMANDS: Readonly<Record<string, { summary: string; load: () => Promise<{ main: Main }> }>> = {
  webhook: { summary: 'serve the mutating admission webhook (HTTPS)', load: () => import('../webhook/main.js') },
  watcher: { summary: 'watch ConfigMaps/Secrets and roll the workloads that consume them', load: () => import('../watcher/main.js') },
  plan: { summary: 'print what would roll now and why, writing nothing', load: () => import('../watcher/plan.js') },
  certs: { summary: 'create or rotate the webhook CA and serving certificate, inject the caBundle', load: () => import('../certs/main.js') },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
  return ['Usage: configstamp <command> [flags]', '', 'Commands:', ...rows, '', 'Run `configstamp <command> --help` for its flags.'].join('\n');
}

async function run(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(`configstamp: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const module = await command.load();
    return await module.main(rest, process.env);
  } catch (err) {
    if (err instanceof ConfigstampError) {
      console.error(`configstamp ${name}: ${err.code}: ${err.message}`);
      return err.code === ErrorCodes.CONFIG ? 2 : 1;
    }
    console.error(`configstamp ${name}: unexpected error:`, err);
    return 1;
  }
}

process.exitCode = await run(process.argv.slice(2));
