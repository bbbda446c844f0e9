import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock, toSeconds } from '../clock/clock.js';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { MAX_COOKIE_BYTES } from '../jwt-sessions.constants.js';
import { createCsrfSecret, isValidCsrf, maskCsrfSecret } from '../csrf/csrf-token.js';
import { InvalidPayloadError, UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import type {
  EarlyRefreshCallback, LoginOptions, RefreshedTokens, RefreshOptions, SessionInfo, SessionTokens, TokenType,
} from '../interfaces/session.interface.js';
import type { AccessTokenPayload, RefreshTokenPayload, SessionPayload } from '../interfaces/token-payload.interface.js';
import type { StoredSession } from '../store/stored-session.js';
import { TokenStore } from '../store/token-store.js';
import { TokenCodec } from '../tokens/token-codec.js';
import { appClaims, lifetime, namespaceOf, requiredId } from './session-claims.js';
import { toSessionInfo } from './session-info.js';

/** A token that passed every check, with the live session it belongs to. @publicApi */
export interface AuthorizedToken<P extends SessionPayload = SessionPayload> {
  payload: P;
  session: StoredSession;
}

/**
 * Creates, refreshes, checks and flushes sessions: the gem's `JWTSessions::Session`, async and typed.
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
      accessUid: newAccessUid(),
      // An access token never outlives its session.
      accessExpiresAt: Math.min(expiresAt, now + lifetime(options.accessExpiresIn, this.config.accessExpiresIn, 'accessExpiresIn')),
      expiresAt,
      createdAt: now,
      refreshByAccessAllowed: options.refreshByAccessAllowed === true,
    };
    // Sign before storing: a payload that cannot be signed, or makes a token too long to be read back, leaves nothing behind.
    const access = this.fitting(await this.signAccess(accessClaims, session, now), 'access', 'payload');
    const refresh = this.fitting(await this.codec.sign({ ...refreshClaims, uid: session.uid, iat: now, exp: expiresAt }, 'refresh'), 'refresh', 'refreshPayload');
    await this.store.create(session, now);
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
   * `onEarlyRefresh` runs when the previous access token has not expired yet, and may throw to refuse.
   */
  async refresh<P extends SessionPayload>(refreshToken: string, options: RefreshOptions<P> = {}): Promise<RefreshedTokens> {
    const { session } = await this.authorizeRefresh(refreshToken, options.claims);
    await this.checkEarlyRefresh(session, options.onEarlyRefresh);
    return this.reissueAccess(session, options);
  }

  /**
   * Issues a new access token from a (possibly expired) access token of a session that allows refresh by access.
   * The token's signature and claims are verified; only its expiry is waived, within the session's life.
   * A token that is not the session's latest one is refused, unless `onEarlyRefresh` is given: then, as in the
   * gem, it decides (and it also runs when the latest access token has not expired yet).
   */
  async refreshByAccess<P extends SessionPayload>(accessToken: string, options: RefreshOptions<P> = {}): Promise<RefreshedTokens> {
    const { payload, session } = await this.authorizeRefreshByAccess(accessToken, options.claims);
    if (session.accessUid !== payload.uid) {
      if (!options.onEarlyRefresh) throw new UnauthorizedError('Access token is not the session\'s latest');
      await options.onEarlyRefresh(session.uid, dateOf(session.accessExpiresAt));
    }
    await this.checkEarlyRefresh(session, options.onEarlyRefresh);
    return this.reissueAccess(session, options);
  }

  /** Flushes the session of a refresh token; answers the number flushed. */
  async flushByToken(refreshToken: string, claims?: TokenClaimsOptions): Promise<number> {
    const payload = await this.codec.verify(refreshToken, 'refresh', { claims });
    return this.store.delete(requiredId(payload, 'uid'), this.now());
  }

  /** Flushes a session by its id (the refresh token's uid); answers the number flushed. */
  async flushByUid(uid: string): Promise<number> {
    return this.store.delete(uid, this.now());
  }

  /** Flushes the session an access token's payload belongs to (logout with an access token). */
  async flushByAccessPayload(payload: Pick<AccessTokenPayload, 'ruid'>): Promise<number> {
    const ruid = (payload as { ruid?: unknown } | null)?.ruid;
    if (typeof ruid !== 'string' || ruid.length === 0) throw new InvalidPayloadError('Access token payload does not contain ruid');
    return this.store.delete(ruid, this.now());
  }

  /** Flushes every session of a namespace (logout everywhere); answers the number flushed. */
  async flushNamespaced(namespace: string): Promise<number> {
    return this.store.deleteNamespace(namespaceOf(namespace) as string, this.now());
  }

  /** Ends the access tokens of a namespace's sessions but keeps the sessions, so they can still be refreshed. */
  async flushNamespacedAccessTokens(namespace: string): Promise<number> {
    return this.store.unlinkNamespaceAccess(namespaceOf(namespace) as string, this.now());
  }

  /** Flushes every session of the app; answers the number flushed. */
  async flushAll(): Promise<number> {
    return this.store.deleteAll(this.now());
  }

  /** The live sessions of a namespace. */
  async listSessions(namespace: string): Promise<SessionInfo[]> {
    const sessions = await this.store.list(namespaceOf(namespace) as string, this.now());
    return sessions.map(toSessionInfo);
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
    const payload = await this.codec.verify(token, 'access', { claims });
    const uid = requiredId(payload, 'uid');
    const session = await this.store.find(requiredId(payload, 'ruid'), this.now());
    if (!session || session.accessUid !== uid || session.accessExpiresAt === 0) throw new UnauthorizedError('Access token not found');
    return { payload: payload as AccessTokenPayload, session };
  }

  /** Verifies a refresh token and finds its live session. */
  async authorizeRefresh(token: string, claims?: TokenClaimsOptions): Promise<AuthorizedToken<RefreshTokenPayload>> {
    const payload = await this.codec.verify(token, 'refresh', { claims });
    const session = await this.store.find(requiredId(payload, 'uid'), this.now());
    if (!session) throw new UnauthorizedError('Refresh token not found');
    return { payload: payload as RefreshTokenPayload, session };
  }

  /** Verifies an access token except for its expiry, and finds its live session, which must allow refresh by access. */
  async authorizeRefreshByAccess(token: string, claims?: TokenClaimsOptions): Promise<AuthorizedToken<AccessTokenPayload>> {
    const payload = await this.codec.verify(token, 'access', { claims, allowExpired: true });
    requiredId(payload, 'uid');
    const session = await this.store.find(requiredId(payload, 'ruid'), this.now());
    if (!session) throw new UnauthorizedError('Refresh token not found');
    if (!session.refreshByAccessAllowed) throw new UnauthorizedError('Refresh by access is not allowed for this session');
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

  private async checkEarlyRefresh(session: StoredSession, callback: EarlyRefreshCallback | undefined): Promise<void> {
    if (callback && session.accessExpiresAt !== 0 && session.accessExpiresAt > this.now()) {
      await callback(session.uid, dateOf(session.accessExpiresAt));
    }
  }

  private async reissueAccess(session: StoredSession, options: RefreshOptions<SessionPayload>): Promise<RefreshedTokens> {
    const now = this.now();
    const claims = appClaims(options.payload, 'payload');
    const next = {
      ...session,
      accessUid: newAccessUid(),
      accessExpiresAt: Math.min(session.expiresAt, now + lifetime(options.accessExpiresIn, this.config.accessExpiresIn, 'accessExpiresIn')),
      csrf: createCsrfSecret(),
    };
    const access = this.fitting(await this.signAccess(claims, next, now), 'access', 'payload');
    // Compare-and-set on the access uid we read: a session flushed, or refreshed by a racing request, meanwhile is not revived.
    const updated = await this.store.relink(session.uid, session.accessUid, next, now);
    if (!updated) throw new UnauthorizedError('Session was flushed or refreshed meanwhile');
    return { csrf: maskCsrfSecret(next.csrf), access, access_expires_at: dateOf(next.accessExpiresAt) };
  }

  private signAccess(claims: Record<string, unknown>, session: StoredSession, now: number): Promise<string> {
    return this.codec.sign({ ...claims, uid: session.accessUid, ruid: session.uid, iat: now, exp: session.accessExpiresAt }, 'access');
  }

  /**
   * The token, if the module will accept it back (`maxTokenLength`) and a browser will keep it in its cookie
   * (name and value within 4096 bytes); otherwise the payload that made it is refused.
   */
  private fitting(token: string, type: TokenType, option: string): string {
    const cookieRoom = MAX_COOKIE_BYTES - this.config.cookies[type].length - 1;
    if (token.length > Math.min(this.config.maxTokenLength, cookieRoom)) {
      throw new InvalidPayloadError(`${option} makes a ${token.length}-character ${type} token; `
        + `the limit is ${Math.min(this.config.maxTokenLength, cookieRoom)} (maxTokenLength, and what a cookie can carry)`);
    }
    return token;
  }

  private now(): number {
    return toSeconds(this.clock.now());
  }
}

/** 128 random bits: as unguessable as a UUID, 14 characters shorter in every token and session record. */
function newAccessUid(): string {
  return randomBytes(16).toString('base64url');
}

function dateOf(seconds: number): Date {
  return new Date(seconds * 1000);
}
