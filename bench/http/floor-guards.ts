import { Controller, Get, Injectable, Module, UseGuards, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';

/**
 * Two guards that bound what any guard can keep on an adapter: `pass-guard` returns true (Nest's own guard
 * machinery, nothing else), `map-lookup` reads the Authorization header and finds the token and then its session in
 * two in-process Maps, and leaves a context on the request (a stateful check with no signature, no claims, no CSRF).
 */

/** A GET /ping route behind a guard, answering what the unguarded route answers. */
export function guardedPing(guard: Type<CanActivate>): Type<unknown> {
  @Controller()
  class GuardedPingController {
    @UseGuards(guard)
    @Get('ping')
    ping(): { ok: boolean } {
      return { ok: true };
    }
  }
  return GuardedPingController;
}

@Injectable()
class PassGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Module({ controllers: [guardedPing(PassGuard)], providers: [PassGuard] })
export class PassGuardModule {}

const SESSION_BY_TOKEN = new Map<string, number>();
const LIVE_SESSIONS = new Map<number, { live: boolean }>();
const LOOKUP_CONTEXT = Symbol('map-lookup');

/** A token of about an access token's length (300 characters) for session `i`, known to the map-lookup guard. */
export function mapLookupToken(i: number): string {
  const token = `map-lookup.${i}.`.padEnd(300, 'x');
  SESSION_BY_TOKEN.set(token, i);
  LIVE_SESSIONS.set(i, { live: true });
  return token;
}

@Injectable()
class MapLookupGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.getArgByIndex<{ headers: Record<string, string | undefined>; [LOOKUP_CONTEXT]?: unknown }>(0);
    const id = SESSION_BY_TOKEN.get(request.headers.authorization?.slice('Bearer '.length) ?? '');
    const session = id === undefined ? undefined : LIVE_SESSIONS.get(id);
    if (!session?.live) return false;
    request[LOOKUP_CONTEXT] = { id, session };
    return true;
  }
}

@Module({ controllers: [guardedPing(MapLookupGuard)], providers: [MapLookupGuard] })
export class MapLookupModule {}
