/**
 * The `mlops` command. The whole flow: parse the command line, load the configuration, build the
 * platform (the adapters of the configured mode), run the command, exit with its code.
 */
import { ConfigError, createLogger, createPlatform, errorCode, errorMessage, loadConfig, PlatformError, type Environment } from '@mlops/shared';
import { dlqCommand } from './commands/dlq.command.js';
import { replayCommand } from './commands/replay.command.js';
import { scheduleCommand } from './commands/schedule.command.js';
import { statusCommand } from './commands/status.command.js';
import { UsageError } from './errors.js';
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
    const config = loadConfig(env);
    // Services log JSON lines; on a terminal the CLI keeps them out of the way unless asked.
    const log = createLogger({ level: env.MLOPS_LOG_LEVEL ? config.logLevel : 'warning', projectId: config.gcp.projectId, sink: (line) => io.err(line) });
    const platform = await createPlatform(config, { log });
    try {
      switch (command.name) {
        case 'dlq':
          return await dlqCommand(platform, command, io);
        case 'replay':
          return await replayCommand(platform, command, io);
        case 'status':
          return await statusCommand(platform, command, io);
        case 'schedule': {
          const stop = new AbortController();
          process.once('SIGTERM', () => stop.abort());
          process.once('SIGINT', () => stop.abort());
          return await scheduleCommand(platform, command, io, stop.signal);
        }
        default:
          throw new UsageError(`${command.name} is not available in this build yet`);
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
    io.err(`mlops: ${error instanceof PlatformError ? `[${error.code}] ` : `[${errorCode(error)}] `}${errorMessage(error)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli/src/main.ts') || process.argv[1]?.endsWith('/bin/mlops.js')) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
