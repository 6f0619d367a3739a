/**
 * Where the dashboard may listen. It has no authentication, so it binds to loopback only unless
 * the operator opts in with MLOPS_DASHBOARD_ALLOW_REMOTE.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DashboardStartErrors } from './errors.js';

/** Whether an IP address is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) {
    if (bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

/**
 * Refuse a host that is not loopback unless `allowRemote`. A host name counts as loopback only
 * when every address it resolves to is loopback.
 */
export async function assertBindable(host: string, allowRemote: boolean): Promise<void> {
  if (allowRemote) return;
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) {
    if (!isLoopbackAddress(bare)) throw DashboardStartErrors.remoteBindRefused(host);
    return;
  }
  let addresses: { address: string }[];
  try {
    addresses = await lookup(bare, { all: true });
  } catch (error) {
    throw DashboardStartErrors.hostUnresolvable(host, error);
  }
  if (addresses.length === 0 || !addresses.every((entry) => isLoopbackAddress(entry.address)))
    throw DashboardStartErrors.remoteBindRefused(host);
}
