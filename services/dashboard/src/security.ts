import { createHostCheck, hostRefusal, type HostPolicy, type Logger } from '@mlops/kernel';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Response headers that keep the page inert whatever the data holds: scripts only from this
 * origin (no inline script, no eval), no string-to-HTML sinks (Trusted Types), no framing, no
 * sniffing, nothing loaded from elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Headers set on every response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

/**
 * The first hook of every request: the dashboard has no authentication, so a page elsewhere that
 * rebinds its DNS name to this machine must not read it. Only requests whose `Host` is a loopback
 * name or a configured host are answered; any other gets 421 with a JSON body, before routing.
 */
export function hostGuard(
  policy: HostPolicy | undefined,
  log: Logger,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const allowed = createHostCheck(policy);
  return async (request, reply) => {
    const host = request.headers.host;
    if (allowed(host)) return;
    log.warning('refused a request for another host', { host: host?.slice(0, 100), status: 421 });
    await reply.code(421).header('connection', 'close').header('cache-control', 'no-store').send(hostRefusal(host));
  };
}
