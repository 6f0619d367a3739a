import { ConfigError } from '../errors.js';
import { loadConfig, type Environment } from '../config/config.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createPlatform, type Platform } from '../platform/platform.js';
import { hostService, type HostedService } from './service-host.js';
import type { Service } from './service.js';

/** How a service process receives events. */
export type Transport = 'pull' | 'http';

/** A running service process; `stop` closes its subscriptions or server and the platform. */
export interface RunningService {
  readonly platform: Platform;
  readonly service: Service;
  stop(): Promise<void>;
}

/**
 * The body of every service's `main.ts`: load the configuration, build the platform of the mode,
 * create the service from it, and host it — as a pull consumer of the bus (`MLOPS_TRANSPORT=pull`,
 * the default: in-process on the embedded bus, a Pub/Sub pull worker otherwise) or as an HTTP
 * CloudEvents function for Eventarc (`MLOPS_TRANSPORT=http`, listening on `PORT`). A bad setting
 * ends the process with exit code 1 and the setting's name; SIGTERM stops it gracefully.
 */
export async function runServiceMain(
  name: string,
  build: (platform: Platform) => Service | Promise<Service>,
  env: Environment,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<RunningService | undefined> {
  const bootLog: Logger = createLogger({ fields: { service: name } });
  let platform: Platform;
  let transport: Transport;
  try {
    const config = loadConfig(env);
    transport = (env.MLOPS_TRANSPORT ?? 'pull') as Transport;
    if (transport !== 'pull' && transport !== 'http')
      throw new ConfigError('MLOPS_TRANSPORT', `must be pull or http (got "${transport}")`);
    const log = createLogger({ level: config.logLevel, projectId: config.gcp.projectId, fields: { service: name } });
    platform = await createPlatform(config, { log });
  } catch (error) {
    if (error instanceof ConfigError) {
      bootLog.error(`bad configuration: ${error.message}`, { setting: error.setting, code: error.code });
      exit(1);
      return undefined;
    }
    throw error;
  }
  const service = await build(platform);
  let hosted: HostedService | undefined;
  let closeHttp: (() => Promise<void>) | undefined;
  if (transport === 'pull') {
    hosted = await hostService(service, {
      bus: platform.bus,
      log: platform.log,
      settings: {
        maxAttempts: platform.config.bus.maxAttempts,
        backoff: { minMs: platform.config.bus.backoffMinMs, maxMs: platform.config.bus.backoffMaxMs },
      },
    });
  } else {
    const { serveCloudEventFunction } = await import('../adapters/functions-framework.adapter.js');
    const port = Number(env.PORT ?? 8080);
    closeHttp = await serveCloudEventFunction(service, {
      host: env.MLOPS_HTTP_HOST ?? '0.0.0.0',
      bus: platform.bus,
      log: platform.log,
      port,
      maxAttempts: platform.config.bus.maxAttempts,
      maxMessageBytes: platform.config.bus.maxMessageBytes,
    });
  }
  // The bus consumers' poll timers are unref'd (they must not keep tests or the CLI alive); a
  // service process, though, lives until it is told to stop.
  const keepAlive = setInterval(() => undefined, 60 * 60 * 1000);
  const stop = async () => {
    clearInterval(keepAlive);
    await hosted?.close();
    await closeHttp?.();
    await platform.close();
  };
  const onSignal = (signal: string) => {
    platform.log.info(`${name} stopping on ${signal}`);
    void stop().then(() => exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return { platform, service, stop };
}
