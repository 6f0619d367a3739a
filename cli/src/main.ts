/**
 * The `mlops` command. The whole flow: parse the command line, load the configuration, build the
 * platform (the adapters of the configured mode), run the command, exit with its code.
 */
import { join } from 'node:path';
import {
  ConfigError,
  createLogger,
  errorCode,
  errorMessage,
  loadConfig,
  PlatformError,
  type Environment,
} from '@mlops/kernel';
import { createPlatform } from '@mlops/platform';
import { dlqCommand, dlqRelayCommand } from './commands/dlq.command.js';
import { modelsCommand } from './commands/models.command.js';
import { backfillCommand, runCommand } from './commands/run.command.js';
import { serveCommand } from './commands/serve.command.js';
import { stackUpCommand } from './commands/stack.command.js';
import { resetLocalState, startCommand } from './commands/start.command.js';
import { replayCommand } from './commands/replay.command.js';
import { scheduleCommand } from './commands/schedule.command.js';
import { statusCommand } from './commands/status.command.js';
import { UsageError } from './errors.js';
import { fileSink } from './log-file.js';
import { processIo, type CliIo } from './io.js';
import { parseCli } from './options.js';

/** Run one command line; resolves to the process exit code. */
export async function main(argv: readonly string[], env: Environment, io: CliIo = processIo): Promise<number> {
  try {
    const command = parseCli(argv, env);
    if (command.name === 'help') {
      io.out(command.text);
      return 0;
    }
    if (command.name === 'stack') return await stackUpCommand(command, env, io);
    const config = loadConfig(env);
    if (command.name === 'start' && command.fresh) {
      if (config.mode !== 'local') throw new UsageError('--fresh only resets the embedded (local) mode');
      await resetLocalState(config);
    }
    // The services hosted in this process log JSON lines: to stderr when MLOPS_LOG_LEVEL asks for
    // them, otherwise to a file under the state folder, so the terminal shows the CLI's own output.
    const log = env.MLOPS_LOG_LEVEL
      ? createLogger({ level: config.logLevel, projectId: config.gcp.projectId, sink: (line) => io.err(line) })
      : createLogger({
          level: 'info',
          projectId: config.gcp.projectId,
          sink: fileSink(join(config.home, 'logs', 'mlops.jsonl')),
        });
    const platform = await createPlatform(config, { log });
    try {
      switch (command.name) {
        case 'dlq': {
          if (command.action !== 'relay') return await dlqCommand(platform, command, io);
          const stop = new AbortController();
          process.once('SIGTERM', () => stop.abort());
          process.once('SIGINT', () => stop.abort());
          return await dlqRelayCommand(platform, io, stop.signal);
        }
        case 'replay':
          return await replayCommand(platform, command, io);
        case 'status':
          return await statusCommand(platform, command, io);
        case 'run':
          return await runCommand(platform, command, io);
        case 'backfill':
          return await backfillCommand(platform, command, io);
        case 'start':
          return await startCommand(platform, command, io);
        case 'models':
          return await modelsCommand(platform, command, io);
        case 'serve':
          return await serveCommand(platform, command, io);
        case 'schedule': {
          const stop = new AbortController();
          process.once('SIGTERM', () => stop.abort());
          process.once('SIGINT', () => stop.abort());
          return await scheduleCommand(platform, command, io, stop.signal);
        }
      }
    } finally {
      await platform.close();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`mlops: ${error.message}\nRun \`mlops --help\` for usage.`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.err(`mlops: bad configuration: ${error.message}`);
      return 1;
    }
    io.err(
      `mlops: ${error instanceof PlatformError ? `[${error.code}] ` : `[${errorCode(error)}] `}${errorMessage(error)}`,
    );
    return 1;
  }
}

if (
  import.meta.url === `file://${process.argv[1]}` ||
  process.argv[1]?.endsWith('/cli/src/main.ts') ||
  process.argv[1]?.endsWith('/cli/dist/main.js')
) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
