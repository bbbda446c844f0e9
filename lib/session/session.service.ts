import { Injectable } from '@nestjs/common';
import type { JWTPayload } from 'jose';
import { Clock, dateOf, toSeconds } from '../clock/clock.js';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { createCsrfSecret, isValidCsrf, maskCsrfSecret } from '../csrf/csrf-token.js';
import { InvalidPayloadError, UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import type { FlushReason } from '../events/session-event.js';
import { SessionEvents } from '../events/session-events.js';
import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import type { LoginOptions, RefreshedTokens, RefreshOptions, SessionInfo, SessionTokens, TokenType } from '../interfaces/session.interface.js';
import type { AccessTokenPayload, RefreshTokenPayload, SessionPayload } from '../interfaces/token-payload.interface.js';
import { AUTHORIZE_ACCESS_NOW } from '../jwt-sessions.constants.js';
import { copySession, type StoredSession } from '../store/stored-session.js';
import { TokenStore } from '../store/token-store.js';
import { TokenCodec } from '../tokens/token-codec.js';
import { appClaims, clientDetail, lifetime, namespaceOf, refreshIdOf, requiredId } from './session-claims.js';
import { toSessionInfo } from './session-info.js';
import { SessionRefresher } from './session-refresher.js';
import { newTokenId, TokenIssuer } from './token-issuer.js';

/** A token that passed every check, with the live session it belongs to. @publicApi */
export interface AuthorizedToken<P extends SessionPayload = SessionPayload> {
  payload: P;
  session: StoredSession;
}

/**
 * Creates, refreshes, checks, lists and flushes sessions: the gem's `JWTSessions::Session`, async and typed.
 * Inject it into your auth controllers.
 * @publicApi
 */
@Injectable()
export class SessionService {
  constructor(
    private readonly codec: TokenCodec,
    private readonly store: TokenStore,
    private readonly clock: Clock,
    private readonly config: JwtSessionsConfig,
    private readonly issuer: TokenIssuer,
    private readonly refresher: SessionRefresher,
    private readonly events: SessionEvents,
  ) {}

  /** Starts a session and answers its tokens: `csrf, access, access_expires_at, refresh, refresh_expires_at`. */
  async login<P extends SessionPayload, R extends SessionPayload = P>(options: LoginOptions<P, R> = {}): Promise<SessionTokens> {
    const now = this.now();
    const accessClaims = appClaims(options.payload, 'payload');
    const refreshClaims = options.refreshPayload === undefined ? accessClaims : appClaims(options.refreshPayload, 'refreshPayload');
    const expiresAt = now + lifetime(options.refreshExpiresIn, this.config.refreshExpiresIn, 'refreshExpiresIn');
    const namespace = namespaceOf(options.namespace);
    const session: StoredSession = {
      uid: this.store.createSessionId(namespace),
      namespace,
      csrf: createCsrfSecret(),
      accessUid: newTokenId(),
      // An access token never outlives its session.
      accessExpiresAt: Math.min(expiresAt, now + lifetime(options.accessExpiresIn, this.config.accessExpiresIn, 'accessExpiresIn')),
      expiresAt,
      createdAt: now,
      refreshByAccessAllowed: options.refreshByAccessAllowed === true,
      refreshedAt: now,
      idleExpiresAt: this.refresher.idleDeadline(now),
      refreshUid: this.config.policy.rotateRefreshTokens ? newTokenId() : '',
      rotation: null,
      userAgent: clientDetail(options.userAgent, 'userAgent'),
      ip: clientDetail(options.ip, 'ip'),
    };
    // Sign before storing: a payload that cannot be signed, or makes a token too long to be read back, leaves nothing behind.
    const access = await this.issuer.access(accessClaims, session, now);
    const refresh = await this.issuer.refresh(refreshClaims, session, now);
    const evicted = await this.store.create(session, now, { maxPerNamespace: this.config.policy.maxSessionsPerNamespace || undefined });
    this.events.emit({ type: 'session.created', sessionId: session.uid, namespace });
    for (const uid of evicted) this.emitFlushed(uid, namespace, 1, 'evicted');
    return {
      csrf: maskCsrfSecret(session.csrf),
      access,
      access_expires_at: dateOf(session.accessExpiresAt),
      refresh,
      refresh_expires_at: dateOf(expiresAt),
    };
  }

  /**
   * Issues a new access token for the session of a refresh token; the session's previous access token stops working.
   * `onEarlyRefresh` runs when the previous access token has not expired yet, and may throw to refuse. With
   * `rotateRefreshTokens`, the answer also carries a new refresh token (with the presented one's claims unless
   * `refreshPayload` is given), and the presented one is retired.
   */
  async refresh<P extends SessionPayload>(refreshToken: string, options: RefreshOptions<P> = {}): Promise<RefreshedTokens> {
    const payload = await this.codec.verify(refreshToken, 'refresh', { claims: options.claims });
    const sessionId = requiredId(payload, 'uid');
    const refreshClaims = appClaims(options.refreshPayload ?? payload, 'refreshPayload');
    const presented = { kind: 'refresh' as const, id: refreshIdOf(payload), token: refreshToken, expiresAt: payload.exp as number };
    // One store step decides: under rotation whether the token is current, a repeat or a reuse; without, whether it is
    // current. Only a retired token without rotation takes the checked way, which revokes a reused one.
    if (this.config.policy.rotateRefreshTokens) {
      return this.refresher.rotateByRefreshToken(sessionId, presented.expiresAt, presented, options, refreshClaims);
    }
    const relinked = await this.refresher.relinkByRefreshToken(sessionId, presented.expiresAt, presented, options);
    if (relinked) return relinked;
    const { session } = await this.authorizeRefresh(refreshToken, options.claims);
    return this.refresher.refresh(session, presented, options, refreshClaims);
  }

  /**
   * Issues a new access token from a (possibly expired) access token of a session that allows refresh by access.
   * The token's signature and claims are verified; only its expiry is waived, within the session's life.
   * A token that is not the session's latest one is refused, unless `onEarlyRefresh` is given: then, as in the
   * gem, it decides (and it also runs when the latest access token has not expired yet). With `rotateRefreshTokens`,
   * only the latest access token refreshes (an older one revokes the session), and the answer carries a new refresh
   * token whose claims are `refreshPayload`, or else `payload`.
   */
  async refreshByAccess<P extends SessionPayload>(accessToken: string, options: RefreshOptions<P> = {}): Promise<RefreshedTokens> {
    const { payload, session } = await this.authorizeRefreshByAccess(accessToken, options.claims);
    if (!this.config.policy.rotateRefreshTokens && session.accessUid !== payload.uid) {
      if (!options.onEarlyRefresh) throw new UnauthorizedError('Access token is not the session\'s latest');
      await options.onEarlyRefresh(session.uid, dateOf(session.accessExpiresAt));
    }
    const refreshClaims = appClaims(options.refreshPayload ?? options.payload, 'refreshPayload');
    const presented = { kind: 'access' as const, id: payload.uid, token: accessToken, expiresAt: payload.exp };
    return this.refresher.refresh(session, presented, options, refreshClaims);
  }

  /** Flushes the session of a refresh token (logout); answers the number flushed. */
  async flushByToken(refreshToken: string, claims?: TokenClaimsOptions): Promise<number> {
    const payload = await this.codec.verify(refreshToken, 'refresh', { claims });
    return this.deleteOne(requiredId(payload, 'uid'), null, 'logout');
  }

  /** Flushes a session by its id (the refresh token's uid); answers the number flushed. */
  async flushByUid(uid: string): Promise<number> {
    return this.deleteOne(uid, null, 'revoked');
  }

  /** Flushes the session an access token's payload belongs to (logout with an access token). */
  async flushByAccessPayload(payload: Pick<AccessTokenPayload, 'ruid'>): Promise<number> {
    const ruid = (payload as { ruid?: unknown } | null)?.ruid;
    if (typeof ruid !== 'string' || ruid.length === 0) throw new InvalidPayloadError('Access token payload does not contain ruid');
    return this.deleteOne(ruid, null, 'logout');
  }

  /** Flushes every session of a namespace (logout everywhere); answers the number flushed. */
  async flushNamespaced(namespace: string): Promise<number> {
    const count = await this.store.deleteNamespace(namespaceOf(namespace) as string, this.now());
    if (count > 0) this.emitFlushed(null, namespace, count, 'namespace');
    return count;
  }

  /** Ends the access tokens of a namespace's sessions but keeps the sessions, so they can still be refreshed. */
  async flushNamespacedAccessTokens(namespace: string): Promise<number> {
    return this.store.unlinkNamespaceAccess(namespaceOf(namespace) as string, this.now());
  }

  /** Flushes every session of the app; answers the number flushed. */
  async flushAll(): Promise<number> {
    const count = await this.store.deleteAll(this.now());
    if (count > 0) this.emitFlushed(null, null, count, 'all');
    return count;
  }

  /**
   * The live sessions of a namespace (a user's devices), oldest first, with `current` set on `currentSessionId`
   * (an access token's `ruid`).
   */
  async listSessions(namespace: string, currentSessionId?: string): Promise<SessionInfo[]> {
    const sessions = await this.store.list(namespaceOf(namespace) as string, this.now());
    return sessions
      .sort((a, b) => a.createdAt - b.createdAt || (a.uid < b.uid ? -1 : 1))
      .map((session) => toSessionInfo(session, session.uid === currentSessionId));
  }

  /** Ends one session of a namespace (one device), by the id `listSessions` shows; answers 1, or 0 if it is not there. */
  async revokeSession(namespace: string, sessionId: string): Promise<number> {
    const session = typeof sessionId === 'string' ? await this.store.find(sessionId, this.now()) : null;
    // Only a session of this namespace: an id alone must not end another user's session.
    if (session === null || session.namespace !== namespaceOf(namespace)) return 0;
    return this.deleteOne(session.uid, session.namespace, 'revoked');
  }

  /** Ends every session of a namespace but the caller's (`currentSessionId`, an access token's `ruid`); answers how many. */
  async revokeOtherSessions(namespace: string, currentSessionId: string): Promise<number> {
    const count = await this.store.deleteNamespace(namespaceOf(namespace) as string, this.now(), currentSessionId);
    if (count > 0) this.emitFlushed(null, namespace, count, 'others');
    return count;
  }

  /** A freshly masked CSRF token for the session of an access token (against BREACH, one per response). */
  async maskedCsrf(accessToken: string, claims?: TokenClaimsOptions): Promise<string> {
    const { session } = await this.authorizeAccess(accessToken, claims);
    return maskCsrfSecret(session.csrf);
  }

  /** Whether a CSRF token (masked or raw) belongs to the session of a live token. */
  async isValidCsrf(token: string, csrf: unknown, type: TokenType = 'access', claims?: TokenClaimsOptions): Promise<boolean> {
    const authorized = await this.tryAuthorize(token, type, claims);
    return authorized !== null && isValidCsrf(authorized.session.csrf, csrf);
  }

  /** Whether a token is valid and its session live. */
  async sessionExists(token: string, type: TokenType = 'access', claims?: TokenClaimsOptions): Promise<boolean> {
    return (await this.tryAuthorize(token, type, claims)) !== null;
  }

  /** Verifies an access token and checks that it is its live session's current one. */
  async authorizeAccess(token: string, claims?: TokenClaimsOptions): Promise<AuthorizedToken<AccessTokenPayload>> {
    // Copied in the same turn as the check: a store step awaited in between could change the record it answered.
    const answer = this[AUTHORIZE_ACCESS_NOW](token, claims);
    return answer instanceof Promise ? answer.then(copyAuthorized) : copyAuthorized(answer);
  }

  /**
   * {@link authorizeAccess} for the guard, the hottest path of the module: answered at once (no promise) for a token
   * verified before whose store can answer without waiting (the memory store); a failure may throw at once too. The
   * session may be the store's own record (see `TokenStore.findNow`): read it at once, change nothing, hand out a copy.
   * @internal
   */
  [AUTHORIZE_ACCESS_NOW](token: string, claims?: TokenClaimsOptions): AuthorizedToken<AccessTokenPayload> | Promise<AuthorizedToken<AccessTokenPayload>> {
    const now = this.now();
    const payload = this.codec.verifiedPayload(token, 'access', claims, now);
    if (payload === undefined) return this.verifyAndAuthorizeAccess(token, claims);
    const uid = requiredId(payload, 'uid');
    const ruid = requiredId(payload, 'ruid');
    const session = this.store.findNow(ruid, now);
    if (session !== undefined) return liveAccess(payload, uid, session);
    return this.findLiveAccess(payload, uid, ruid);
  }

  private async verifyAndAuthorizeAccess(token: string, claims: TokenClaimsOptions | undefined): Promise<AuthorizedToken<AccessTokenPayload>> {
    const payload = await this.codec.verify(token, 'access', { claims });
    return this.findLiveAccess(payload, requiredId(payload, 'uid'), requiredId(payload, 'ruid'));
  }

  /** The awaited store lookup of a verified token (an async function, so the guard always gets a native promise). */
  private async findLiveAccess(payload: JWTPayload, uid: string, ruid: string): Promise<AuthorizedToken<AccessTokenPayload>> {
    return liveAccess(payload, uid, await this.store.find(ruid, this.now()));
  }

  /** Verifies a refresh token and finds its live session; under rotation, a retired token revokes the session. */
  async authorizeRefresh(token: string, claims?: TokenClaimsOptions): Promise<AuthorizedToken<RefreshTokenPayload>> {
    const payload = await this.codec.verify(token, 'refresh', { claims });
    const session = await this.store.find(requiredId(payload, 'uid'), this.now());
    if (!session) throw new UnauthorizedError('Refresh token not found');
    await this.refresher.assertHonoured(session, { kind: 'refresh', id: refreshIdOf(payload) });
    return { payload: payload as RefreshTokenPayload, session };
  }

  /**
   * Verifies an access token except for its expiry, and finds its live session, which must allow refresh by access;
   * under rotation, an access token older than the latest revokes the session.
   */
  async authorizeRefreshByAccess(token: string, claims?: TokenClaimsOptions): Promise<AuthorizedToken<AccessTokenPayload>> {
    const payload = await this.codec.verify(token, 'access', { claims, allowExpired: true });
    const uid = requiredId(payload, 'uid');
    const session = await this.store.find(requiredId(payload, 'ruid'), this.now());
    if (!session) throw new UnauthorizedError('Refresh token not found');
    if (!session.refreshByAccessAllowed) throw new UnauthorizedError('Refresh by access is not allowed for this session');
    await this.refresher.assertHonoured(session, { kind: 'access', id: uid });
    return { payload: payload as AccessTokenPayload, session };
  }

  private async tryAuthorize(token: string, type: TokenType, claims?: TokenClaimsOptions): Promise<AuthorizedToken | null> {
    try {
      return type === 'access' ? await this.authorizeAccess(token, claims) : await this.authorizeRefresh(token, claims);
    } catch (error) {
      if (error instanceof UnauthorizedError) return null;
      throw error;
    }
  }

  private async deleteOne(uid: string, namespace: string | null, reason: FlushReason): Promise<number> {
    const count = await this.store.delete(uid, this.now());
    if (count > 0) this.emitFlushed(uid, namespace, count, reason);
    return count;
  }

  private emitFlushed(sessionId: string | null, namespace: string | null, count: number, reason: FlushReason): void {
    this.events.emit({ type: 'session.flushed', sessionId, namespace, count, reason });
  }

  private now(): number {
    return toSeconds(this.clock.now());
  }
}

/** What an app is handed: the session as a copy of its own (the payload already is one). */
function copyAuthorized({ payload, session }: AuthorizedToken<AccessTokenPayload>): AuthorizedToken<AccessTokenPayload> {
  return { payload, session: copySession(session) };
}

/** An access token's session, if it is live and still honours that token (`uid`); else a 401. */
function liveAccess(payload: JWTPayload, uid: string, session: StoredSession | null): AuthorizedToken<AccessTokenPayload> {
  if (!session || session.accessUid !== uid || session.accessExpiresAt === 0) throw new UnauthorizedError('Access token not found');
  return { payload: payload as AccessTokenPayload, session };
}
