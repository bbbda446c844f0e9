import type { CookieSettings } from '../config/jwt-sessions.config.js';
import type { SessionRequest } from '../transport/session-request.js';
import { headerValue } from '../transport/token-extractor.js';

/**
 * Whether the browser says this request comes from another site: `Sec-Fetch-Site: cross-site`, or an `Origin` that
 * is opaque (`null`) or names another host than the one the request was sent to, unless the origin is trusted.
 * Without either header (a non-browser client, an old browser) it says no, and the CSRF token alone decides.
 * @internal
 */
export function isCrossSite(request: SessionRequest, settings: Pick<CookieSettings, 'trustedOrigins'>): boolean {
  const origin = headerValue(request, 'origin');
  if (origin !== undefined && settings.trustedOrigins.has(origin)) return false;
  if (headerValue(request, 'sec-fetch-site')?.toLowerCase() === 'cross-site') return true;
  if (origin === undefined) return false;
  const host = headerValue(request, 'host') ?? headerValue(request, ':authority');
  return host === undefined || !isSameHost(origin, host);
}

/** Whether the origin names the host the request was sent to; `host` is read with the origin's scheme, so default ports compare equal. */
function isSameHost(origin: string, host: string): boolean {
  try {
    const url = new URL(origin);
    return url.origin !== 'null' && new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    return false;
  }
}
