import { isIP } from 'node:net';

/** Which `Host` headers an HTTP listener of the platform answers. */
export interface HostPolicy {
  /**
   * Hosts answered besides the loopback names: `name`, `name:port`, `*.suffix` (any subdomain),
   * IPv4 or `[IPv6]` addresses (from `MLOPS_ALLOWED_HOSTS`).
   */
  allowedHosts?: readonly string[];
  /** The Cloud Run service (`K_SERVICE`): its `<service>-….run.app` URL hosts are answered. */
  cloudRunService?: string;
}

/** The names every listener answers, with any port: a browser on this machine reaches it by these. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

interface Entry {
  name: string;
  wildcard: boolean;
  port?: string;
}

const NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Split `host[:port]` (or `[v6][:port]`) into a lowercase name and a port. */
function splitHost(value: string): { name: string; port?: string } | undefined {
  const text = value.trim().toLowerCase();
  const bracketed = /^(\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/.exec(text);
  if (bracketed) {
    if (isIP(bracketed[1]!.slice(1, -1)) !== 6) return undefined;
    return bracketed[2] === undefined ? { name: bracketed[1]! } : { name: bracketed[1]!, port: bracketed[2] };
  }
  const plain = /^([^:[\]]+?)\.?(?::(\d{1,5}))?$/.exec(text);
  if (!plain) return undefined;
  return plain[2] === undefined ? { name: plain[1]! } : { name: plain[1]!, port: plain[2] };
}

function parseEntry(raw: string): Entry | string {
  const wildcard = raw.trim().startsWith('*.');
  const split = splitHost(wildcard ? raw.trim().slice(2) : raw);
  if (!split || (!split.name.startsWith('[') && !NAME.test(split.name)))
    return `"${raw}" is not a host name, host:port, *.domain or IP address`;
  if (wildcard && split.name.startsWith('[')) return `"${raw}": a wildcard needs a domain name`;
  return { name: split.name, wildcard, ...(split.port === undefined ? {} : { port: split.port }) };
}

/**
 * Check a comma-separated list of allowed hosts (the `MLOPS_ALLOWED_HOSTS` setting); resolves to
 * the entries, or throws an Error naming the first bad one.
 */
export function parseAllowedHosts(raw: string): string[] {
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if (typeof parsed === 'string') throw new Error(parsed);
  }
  return entries;
}

/**
 * The check an HTTP listener runs on every request's `Host` header before anything else, against
 * DNS rebinding: a page on another site that rebinds its name to 127.0.0.1 still sends its own name
 * as the Host, so only the names this listener is meant to be reached by are answered. Loopback
 * names always pass; other hosts only when the policy lists them.
 */
export function createHostCheck(policy: HostPolicy = {}): (host: string | undefined) => boolean {
  const entries: Entry[] = [...LOOPBACK_HOSTS, ...(policy.allowedHosts ?? [])]
    .map((raw) => parseEntry(raw))
    .filter((entry): entry is Entry => typeof entry !== 'string');
  const cloudRun = policy.cloudRunService?.toLowerCase();
  return (host) => {
    if (host === undefined) return false;
    const split = splitHost(host);
    if (!split) return false;
    if (cloudRun && split.name.startsWith(`${cloudRun}-`) && split.name.endsWith('.run.app')) return true;
    return entries.some((entry) => {
      if (entry.port !== undefined && entry.port !== split.port) return false;
      return entry.wildcard ? split.name.endsWith(`.${entry.name}`) : split.name === entry.name;
    });
  };
}

/** The JSON body of a refused request (status 421 Misdirected Request). */
export function hostRefusal(host: string | undefined): { error: { code: string; message: string } } {
  const shown = host === undefined ? 'no Host header' : `Host "${host.slice(0, 100)}"`;
  return {
    error: {
      code: 'HTTP.HOST_NOT_ALLOWED',
      message: `${shown} is not served here; this listener answers loopback names and the hosts in MLOPS_ALLOWED_HOSTS`,
    },
  };
}
