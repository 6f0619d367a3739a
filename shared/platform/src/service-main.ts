import {
  ConfigError,
  errorCode,
  errorMessage,
  loadConfig,
  type Environment,
  createLogger,
  type Logger,
  hostService,
  type HostedService,
  type Platform,
  serveCloudEvents,
  type CloudEventsServer,
  type Service,
} from '@mlops/kernel';
import { createPlatform } from './platform.js';

/** How a service process receives events. */
export type Transport = 'pull' | 'http';

/** The transport a process is told to use (`MLOPS_TRANSPORT`, default pull); another value is a bad setting. */
export function transportOf(env: Environment): Transport {
  const transport = env.MLOPS_TRANSPORT ?? 'pull';
  if (transport !== 'pull' && transport !== 'http')
    throw new ConfigError('MLOPS_TRANSPORT', `must be pull or http (got "${transport}")`);
  return transport;
}

/** A running service process; `stop` closes its subscriptions or server and the platform. */
export interface RunningService {
  readonly platform: Platform;
  readonly service: Service;
  /** Where the HTTP transport listens (`MLOPS_TRANSPORT=http` only). */
  readonly http?: { url: string; host: string; port: number };
  stop(): Promise<void>;
}

/**
 * The body of every service's `main.ts`: load the configuration, build the platform of the mode,
 * create the service from it, and host it — as a pull consumer of the bus (`MLOPS_TRANSPORT=pull`,
 * the default: in-process on the embedded bus, a Pub/Sub pull worker otherwise) or as an HTTP
 * CloudEvents receiver for Eventarc (`MLOPS_TRANSPORT=http`, on `PORT`, bound to loopback unless on
 * Cloud Run or `MLOPS_HTTP_HOST` says otherwise). Anything that stops start-up (a bad setting, no
 * Google credentials, an address in use) is one ERROR log line naming it, and exit code 1; SIGTERM
 * stops the process gracefully.
 */
export async function runServiceMain(
  name: string,
  build: (platform: Platform) => Service | Promise<Service>,
  env: Environment,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<RunningService | undefined> {
  const bootLog: Logger = createLogger({ fields: { service: name } });
  let platform: Platform | undefined;
  try {
    const config = loadConfig(env);
    const transport = transportOf(env);
    const log = createLogger({ level: config.logLevel, projectId: config.gcp.projectId, fields: { service: name } });
    platform = await createPlatform(config, { log, service: name });
    const service = await build(platform);
    let hosted: HostedService | undefined;
    let server: CloudEventsServer | undefined;
    if (transport === 'pull') {
      hosted = await hostService(service, {
        bus: platform.bus,
        log: platform.log,
        settings: {
          maxAttempts: config.bus.maxAttempts,
          backoff: { minMs: config.bus.backoffMinMs, maxMs: config.bus.backoffMaxMs },
        },
      });
    } else {
      server = await serveCloudEvents(service, {
        host: config.http.host,
        port: config.http.port,
        hosts: {
          allowedHosts: config.http.allowedHosts,
          ...(config.http.cloudRunService ? { cloudRunService: config.http.cloudRunService } : {}),
        },
        bus: platform.bus,
        log: platform.log,
        maxAttempts: config.bus.maxAttempts,
        maxMessageBytes: config.bus.maxMessageBytes,
      });
    }
    // The bus consumers' poll timers are unref'd (they must not keep tests or the CLI alive); a
    // service process, though, lives until it is told to stop.
    const keepAlive = setInterval(() => undefined, 60 * 60 * 1000);
    const running = platform;
    const stop = async () => {
      clearInterval(keepAlive);
      await hosted?.close();
      await server?.close();
      await running.close();
    };
    const onSignal = (signal: string) => {
      running.log.info(`${name} stopping on ${signal}`);
      void stop().then(() => exit(0));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    return {
      platform,
      service,
      ...(server ? { http: { url: server.url, host: server.host, port: server.port } } : {}),
      stop,
    };
  } catch (error) {
    if (error instanceof ConfigError)
      bootLog.error(`bad configuration: ${error.message}`, { setting: error.setting, code: error.code });
    else bootLog.error(`${name} failed to start: ${errorMessage(error)}`, { code: errorCode(error) });
    await platform?.close().catch(() => undefined);
    exit(1);
    return undefined;
  }
}
