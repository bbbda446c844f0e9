import { MalconfiguredError } from '../errors/jwt-sessions.errors.js';
import type { JwtSessionsModuleOptions } from '../interfaces/jwt-sessions-options.interface.js';
import { DEFAULT_ACCESS_COOKIE, DEFAULT_REFRESH_COOKIE } from '../jwt-sessions.constants.js';
import type { CookieNames, CookieSettings } from './jwt-sessions.config.js';

/**
 * Cookie names and attributes after defaults, refusing the combinations a browser would drop silently: a
 * `__Host-` or `__Secure-` name, or SameSite=None, without Secure.
 * @internal
 */
export function resolveCookies(options: JwtSessionsModuleOptions): { names: CookieNames; settings: CookieSettings } {
  const cookie = options.cookieOptions ?? {};
  const secure = cookie.secure ?? true;
  const refreshPath = cookie.refreshPath ?? '/';
  const hostPrefix = cookie.hostPrefix ?? false;
  const names: CookieNames = {
    access: (hostPrefix ? '__Host-' : '') + (options.accessCookie ?? DEFAULT_ACCESS_COOKIE),
    refresh: (hostPrefix ? (refreshPath === '/' ? '__Host-' : '__Secure-') : '') + (options.refreshCookie ?? DEFAULT_REFRESH_COOKIE),
  };
  const settings: CookieSettings = Object.freeze({
    secure,
    sameSite: cookie.sameSite ?? 'lax',
    refreshPath,
    rejectCrossSite: cookie.rejectCrossSite ?? false,
    trustedOrigins: Object.freeze(new Set(cookie.trustedOrigins ?? [])),
  });
  if (!secure) {
    if (settings.sameSite === 'none') throw new MalconfiguredError('cookieOptions.sameSite none needs cookieOptions.secure: browsers drop such cookies');
    const prefixed = Object.values(names).find((name) => /^__(host|secure)-/i.test(name));
    if (prefixed !== undefined) throw new MalconfiguredError(`The cookie name ${prefixed} needs cookieOptions.secure: browsers drop such cookies`);
  }
  if (/^__host-/i.test(names.refresh) && refreshPath !== '/') {
    throw new MalconfiguredError(`The cookie name ${names.refresh} needs Path=/, so it cannot have cookieOptions.refreshPath`);
  }
  return { names, settings };
}
