import type { CookieSettings } from '../config/jwt-sessions.config.js';
import type { SessionRequest } from '../transport/session-request.js';
import { headerValue } from '../transport/token-extractor.js';

/**
 * Whether the browser says this request comes from another site: `Sec-Fetch-Site: cross-site`, or an `Origin` that
 * is opaque (`null`), names another host than the one the request was sent to, or is `http:` while the cookies are
 * Secure, unless the origin is trusted.
 * Without either header (a non-browser client, an old browser) it says no, and the CSRF token alone decides.
 * @internal
 */
export function isCrossSite(request: SessionRequest, settings: Pick<CookieSettings, 'trustedOrigins' | 'secure'>): boolean {
  const origin = headerValue(request, 'origin');
  if (origin !== undefined && settings.trustedOrigins.has(origin)) return false;
  if (headerValue(request, 'sec-fetch-site')?.toLowerCase() === 'cross-site') return true;
  if (origin === undefined) return false;
  const host = headerValue(request, 'host') ?? headerValue(request, ':authority');
  return host === undefined || !isSameOrigin(origin, host, settings.secure);
}

/**
 * Whether the origin names the host the request was sent to (`host` read with the origin's scheme, so default ports
 * compare equal). With Secure cookies the site is served over HTTPS, so an `http:` origin is another origin.
 */
function isSameOrigin(origin: string, host: string, secure: boolean): boolean {
  try {
    const url = new URL(origin);
    if (url.origin === 'null' || (secure && url.protocol !== 'https:')) return false;
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    return false;
  }
}
