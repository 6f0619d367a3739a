import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  HttpError,
  NotImplementedError,
  onlyParams,
  serve,
  stderrLog,
  type RunningServer,
  type StandinLog,
} from '../http/server.js';

/** Options of {@link startMetadataServer}. */
export interface MetadataServerOptions {
  projectId: string;
  /** Numeric project id (`project/numeric-project-id`). */
  projectNumber?: string;
  /**
   * The identities to serve, by name: each gets its own port, so a process picks its service
   * account by its `GCE_METADATA_HOST`, as a Cloud Run service gets the account it was deployed
   * with. `default` is required.
   */
  serviceAccounts: { default: string } & Record<string, string>;
  /** Cloud Run reports `projects/<number>/regions/<region>`. */
  region?: string;
  log?: StandinLog;
}

/** What a token issued by the stand-in stands for. */
export interface IssuedToken {
  email: string;
  scopes: string[];
  expiresAt: Date;
}

/** A running metadata server stand-in. */
export interface MetadataServer {
  /** `127.0.0.1:<port>` of each identity, for `GCE_METADATA_HOST`. */
  readonly hosts: Readonly<Record<string, string>>;
  /** The default identity's address. */
  readonly host: string;
  /** Who a bearer token was issued to (other stand-ins may check callers); undefined if unknown or expired. */
  tokenInfo(token: string): IssuedToken | undefined;
  stop(): Promise<void>;
}

const TOKEN_SECONDS = 3599;
const DEFAULT_SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];

/**
 * The Compute/Cloud Run metadata server, as far as Application Default Credentials use it:
 * detection (`/instance`), `project/project-id`, `project/numeric-project-id`, the service
 * account's email, scopes and access token, `universe/universe-domain`, `instance/region` and
 * `instance/zone`. Every request must carry `Metadata-Flavor: Google` (403 otherwise, as on Google);
 * every answer carries it back, which is how the client recognises a metadata server. An
 * attribute the instance does not have (`attributes/cluster-name`: not GKE) is 404, as on Google;
 * other paths are 501 (identity tokens among them).
 */
export async function startMetadataServer(options: MetadataServerOptions): Promise<MetadataServer> {
  const log = options.log ?? stderrLog;
  const tokens = new Map<string, IssuedToken>();
  const projectNumber = options.projectNumber ?? '123456789012';
  const region = options.region ?? 'us-central1';

  const handlerFor =
    (email: string) =>
    async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
      if (req.method !== 'GET') throw new NotImplementedError(`${req.method} ${url.pathname}`);
      if (req.headers['metadata-flavor'] !== 'Google')
        throw new HttpError(403, 'forbidden', 'Missing required header "Metadata-Flavor": "Google"');
      if (req.headers['x-forwarded-for'] !== undefined)
        throw new HttpError(403, 'forbidden', 'Requests with X-Forwarded-For are refused');
      const text = (body: string) => {
        res.writeHead(200, { 'metadata-flavor': 'Google', 'content-type': 'application/text' });
        res.end(body);
      };
      const path = url.pathname.replace(/^\/computeMetadata\/v1\/?/, '/');
      if (path === url.pathname) throw new NotImplementedError(`path ${url.pathname}`);
      onlyParams(url, path.endsWith('/token') ? ['scopes'] : [], `metadata ${path}`);
      // The default account answers under its own email too.
      const account = path.replace(`/service-accounts/${email}/`, '/service-accounts/default/');
      switch (account) {
        case '/':
          return text('instance/\nproject/\nuniverse/\n');
        case '/instance':
        case '/instance/':
          return text('attributes/\nid\nregion\nservice-accounts/\nzone\n');
        case '/instance/id':
          return text('1234567890123456789');
        case '/instance/region':
          return text(`projects/${projectNumber}/regions/${region}`);
        case '/instance/zone':
          return text(`projects/${projectNumber}/zones/${region}-1`);
        case '/instance/attributes/':
          return text('');
        case '/instance/service-accounts/':
          return text(`default/\n${email}/\n`);
        case '/instance/service-accounts/default/':
          return text('aliases\nemail\nidentity\nscopes\ntoken\n');
        case '/instance/service-accounts/default/email':
          return text(email);
        case '/instance/service-accounts/default/scopes':
          return text(`${DEFAULT_SCOPES.join('\n')}\n`);
        case '/instance/service-accounts/default/token': {
          const scopes = url.searchParams.get('scopes')?.split(',').filter(Boolean) ?? DEFAULT_SCOPES;
          const token = `ya29.standin.${randomBytes(24).toString('base64url')}`;
          tokens.set(token, { email, scopes, expiresAt: new Date(Date.now() + TOKEN_SECONDS * 1000) });
          const body = JSON.stringify({ access_token: token, expires_in: TOKEN_SECONDS, token_type: 'Bearer' });
          res.writeHead(200, { 'metadata-flavor': 'Google', 'content-type': 'application/json' });
          res.end(body);
          return;
        }
        case '/project/project-id':
          return text(options.projectId);
        case '/project/numeric-project-id':
          return text(projectNumber);
        case '/universe/universe-domain':
          return text('googleapis.com');
      }
      if (account.startsWith('/instance/attributes/'))
        throw new HttpError(404, 'notFound', `attribute ${account.slice('/instance/attributes/'.length)} is not set`);
      throw new NotImplementedError(`metadata path ${url.pathname}`);
    };

  const servers: Record<string, RunningServer> = {};
  try {
    for (const [name, email] of Object.entries(options.serviceAccounts))
      servers[name] = await serve(`metadata:${name}`, handlerFor(email), log);
  } catch (error) {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
    throw error;
  }
  const hosts = Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, server.host]));
  return {
    hosts,
    host: hosts.default!,
    tokenInfo(token) {
      const issued = tokens.get(token);
      return issued && issued.expiresAt.getTime() > Date.now() ? issued : undefined;
    },
    stop: async () => {
      await Promise.all(Object.values(servers).map((server) => server.stop()));
    },
  };
}
