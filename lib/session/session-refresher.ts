import { Injectable } from '@nestjs/common';
import { Clock, dateOf, toSeconds } from '../clock/clock.js';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { createCsrfSecret, maskCsrfSecret } from '../csrf/csrf-token.js';
import { UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import { SessionEvents } from '../events/session-events.js';
import type { EarlyRefreshCallback, RefreshedTokens, RefreshOptions } from '../interfaces/session.interface.js';
import type { SessionPayload } from '../interfaces/token-payload.interface.js';
import type { AccessLink, PresentedToken, RotationLink, StoredSession, SuccessorTokens } from '../store/stored-session.js';
import { TokenStore } from '../store/token-store.js';
import { appClaims, lifetime } from './session-claims.js';
import { isRetiredInGrace } from './rotation-window.js';
import { openSuccessors, sealSuccessors } from './successor-seal.js';
import { newTokenId, TokenIssuer } from './token-issuer.js';

/**
 * Refreshes a session: a new access token (and CSRF secret) by compare-and-set, or, with `rotateRefreshTokens`, a new
 * token pair that retires the presented one, with a grace window for concurrent repeats and reuse detection.
 * @internal
 */
@Injectable()
export class SessionRefresher {
  constructor(
    private readonly store: TokenStore,
    private readonly issuer: TokenIssuer,
    private readonly events: SessionEvents,
    private readonly clock: Clock,
    private readonly config: JwtSessionsConfig,
  ) {}

  /**
   * Refreshes the session the presented token authorized, as read from the store: a new access token by
   * compare-and-set, or under rotation a new pair. `refreshClaims` are the successor refresh token's claims.
   */
  async refresh(
    session: StoredSession, presented: Presented, options: RefreshOptions<SessionPayload>, refreshClaims: Record<string, unknown>,
  ): Promise<RefreshedTokens> {
    const rotating = this.config.policy.rotateRefreshTokens;
    await this.checkEarlyRefresh(session.uid, session.namespace, earlyUntil(session, presented, rotating), options.onEarlyRefresh);
    if (rotating) return this.rotate(session, presented, options, refreshClaims, false);
    return this.relinkIfUnchanged(session, options);
  }

  /**
   * Without rotation, refreshes by a refresh token without reading the session first: one store step relinks when
   * the token is its session's current one. Answers null when it is not (a rotated session's retired token), for the
   * caller to take the checked way; an early refresh asks `onEarlyRefresh` first, then relinks by compare-and-set.
   */
  async relinkByRefreshToken(
    sessionId: string, expiresAt: number, presented: Presented, options: RefreshOptions<SessionPayload>,
  ): Promise<RefreshedTokens | null> {
    const callback = options.onEarlyRefresh;
    const next = await this.nextAccess({ uid: sessionId, expiresAt }, options);
    const result = await this.store.relinkByRefreshToken(sessionId, presented.id, next.link, next.now, callback !== undefined);
    switch (result.outcome) {
      case 'not-current':
        return null;
      case 'gone':
        throw new UnauthorizedError('Refresh token not found');
      case 'early':
        await this.checkEarlyRefresh(sessionId, result.session.namespace, result.session.accessExpiresAt, callback);
        // The callback may take its time: the session is judged live, and the link dated, when the write happens.
        return this.relinkIfUnchanged({ uid: sessionId, expiresAt, accessUid: result.session.accessUid }, options);
      case 'relinked':
        // Without a callback nothing had to wait for the answer: the hijack signal still goes out.
        if (result.replacedAccessExpiresAt > next.now) {
          this.events.emit({ type: 'refresh.early', sessionId, namespace: result.session.namespace });
        }
        return this.relinked(result.session, next);
    }
  }

  /**
   * Relinks by compare-and-set on the access uid read: a session flushed, or refreshed by a racing request, meanwhile
   * is not revived.
   */
  private async relinkIfUnchanged(
    session: Pick<StoredSession, 'uid' | 'expiresAt' | 'accessUid'>, options: RefreshOptions<SessionPayload>,
  ): Promise<RefreshedTokens> {
    const next = await this.nextAccess(session, options);
    return this.relinked(await this.store.relink(session.uid, session.accessUid, next.link, next.now), next);
  }

  /**
   * A new access link for the session, and its access token signed before any write: a payload that cannot be
   * signed then refuses the refresh with the session unchanged (a refused refresh of a dead session costs a signature).
   */
  private async nextAccess(
    session: Pick<StoredSession, 'uid' | 'expiresAt'>, options: RefreshOptions<SessionPayload>,
  ): Promise<{ now: number; link: AccessLink; access: string }> {
    const now = this.now();
    const link = this.nextLink(session, options, now);
    const access = await this.issuer.access(appClaims(options.payload, 'payload'), { uid: session.uid, ...link }, now);
    return { now, link, access };
  }

  /** The answer to a refresh without rotation, once the store took the new link (or null: it did not). */
  private relinked(updated: StoredSession | null, next: { link: AccessLink; access: string }): RefreshedTokens {
    if (!updated) throw new UnauthorizedError('Session was flushed or refreshed meanwhile');
    this.emitRefreshed(updated, false, false);
    return { csrf: maskCsrfSecret(next.link.csrf), access: next.access, access_expires_at: dateOf(next.link.accessExpiresAt) };
  }

  /**
   * Under rotation, refreshes by a refresh token without reading the session first: the token names the session and
   * its end, and the store's one atomic step decides (rotate, replay, reuse, early). One store round trip, two only
   * when the refresh is early (the app's `onEarlyRefresh` decides between them).
   */
  rotateByRefreshToken(
    sessionId: string, expiresAt: number, presented: Presented, options: RefreshOptions<SessionPayload>, refreshClaims: Record<string, unknown>,
  ): Promise<RefreshedTokens> {
    return this.rotate({ uid: sessionId, expiresAt }, presented, options, refreshClaims, true);
  }

  /** Signs the successor pair and rotates; with `askIfEarly`, an early refresh first goes to the app's callback. */
  private async rotate(
    session: Pick<StoredSession, 'uid' | 'expiresAt'>, presented: Presented, options: RefreshOptions<SessionPayload>,
    refreshClaims: Record<string, unknown>, askIfEarly: boolean,
  ): Promise<RefreshedTokens> {
    const accessClaims = appClaims(options.payload, 'payload');
    // The successors are signed and sealed before the step, which keeps them for the grace window's repeats.
    const successorsAt = async (now: number) => {
      const link = { ...this.nextLink(session, options, now), refreshUid: newTokenId() };
      const next = { ...session, ...link };
      const tokens = { access: await this.issuer.access(accessClaims, next, now), refresh: await this.issuer.refresh(refreshClaims, next, now) };
      return { now, link, tokens, sealed: sealSuccessors(tokens, presented.token, session.uid) };
    };
    const rotateWith = ({ now, link, sealed }: Successors, stopIfEarly: boolean) =>
      this.store.rotate(session.uid, presented, link, sealed, this.config.policy.refreshGracePeriod, now, stopIfEarly);
    let successors: Successors = await successorsAt(this.now());
    let result = await rotateWith(successors, askIfEarly);
    if (result.outcome === 'early') {
      await this.checkEarlyRefresh(result.session.uid, result.session.namespace, result.session.accessExpiresAt, options.onEarlyRefresh);
      // The callback may take its time: the session is judged live, and the successors dated, when the write happens.
      successors = await successorsAt(this.now());
      result = await rotateWith(successors, false);
    }
    switch (result.outcome) {
      case 'rotated':
      case 'replayed': {
        // Replayed successors open only for the very token that rotated: a retired token of the other kind gets none.
        const tokens = result.outcome === 'rotated' ? successors.tokens : openSuccessors(result.tokens, presented.token, session.uid);
        if (tokens === null) throw new UnauthorizedError('Session was refreshed meanwhile with another token');
        this.emitRefreshed(result.session, true, result.outcome === 'replayed');
        return {
          csrf: maskCsrfSecret(result.session.csrf),
          access: tokens.access,
          access_expires_at: dateOf(result.session.accessExpiresAt),
          refresh: tokens.refresh,
          refresh_expires_at: dateOf(result.session.expiresAt),
        };
      }
      case 'reused':
        this.reportReuse(session.uid, result.namespace, presented);
        throw new UnauthorizedError('Refresh token was reused: the session is revoked');
      case 'refused':
        throw new UnauthorizedError('Access tokens of this session were flushed');
      default:
        throw new UnauthorizedError('Session was flushed meanwhile');
    }
  }

  /**
   * Under rotation, refuses a token the session no longer honours before anything else happens: a retired one outside
   * the grace window (or two generations old) revokes the whole session, as a stolen token's use must.
   */
  async assertHonoured(session: StoredSession, presented: PresentedToken): Promise<void> {
    // Without rotation, a refresh token a rotation retired stays retired (a module that rotated shared the store).
    if (!this.config.policy.rotateRefreshTokens && (presented.kind === 'access' || session.refreshUid === '')) return;
    // After "flush access tokens only", no access token of the session refreshes by access, the retired one included.
    if (presented.kind === 'access' && session.accessExpiresAt === 0 && (isCurrent(session, presented) || this.inGrace(session, presented))) {
      throw new UnauthorizedError('Access tokens of this session were flushed');
    }
    if (isCurrent(session, presented) || this.inGrace(session, presented)) return;
    // A token retired at the time of reading stays retired: deleting on this reading is never wrong.
    await this.store.delete(session.uid, this.now());
    this.reportReuse(session.uid, session.namespace, presented);
    throw new UnauthorizedError('Refresh token was reused: the session is revoked');
  }

  /** Emits `refresh.early` when an access token is still live until `accessExpiresAt`, and lets the app's callback decide. */
  private async checkEarlyRefresh(
    sessionId: string, namespace: string | null, accessExpiresAt: number, callback: EarlyRefreshCallback | undefined,
  ): Promise<void> {
    if (accessExpiresAt === 0 || accessExpiresAt <= this.now()) return;
    this.events.emit({ type: 'refresh.early', sessionId, namespace });
    if (callback) await callback(sessionId, dateOf(accessExpiresAt));
  }

  /** The idle deadline of a session used at `now`, or 0 without an idle timeout. */
  idleDeadline(now: number): number {
    return this.config.policy.idleTimeout > 0 ? now + this.config.policy.idleTimeout : 0;
  }

  private nextLink(session: Pick<StoredSession, 'expiresAt'>, options: RefreshOptions<SessionPayload>, now: number): AccessLink {
    const accessLifetime = lifetime(options.accessExpiresIn, this.config.accessExpiresIn, 'accessExpiresIn');
    return {
      accessUid: newTokenId(),
      // An access token never outlives its session.
      accessExpiresAt: Math.min(session.expiresAt, now + accessLifetime),
      csrf: createCsrfSecret(),
      refreshedAt: now,
      idleExpiresAt: this.idleDeadline(now),
    };
  }

  private inGrace(session: StoredSession, presented: PresentedToken): boolean {
    return isRetiredInGrace(session, presented, this.config.policy, this.now());
  }

  private emitRefreshed(session: StoredSession, rotated: boolean, replayed: boolean): void {
    this.events.emit({ type: 'session.refreshed', sessionId: session.uid, namespace: session.namespace, rotated, replayed });
  }

  private reportReuse(sessionId: string, namespace: string | null, presented: PresentedToken): void {
    this.events.emit({ type: 'refresh.reuse-detected', sessionId, namespace, presented: presented.kind });
    this.events.emit({ type: 'session.flushed', sessionId, namespace, count: 1, reason: 'reuse' });
  }

  private now(): number {
    return toSeconds(this.clock.now());
  }
}

/** A rotation's successors, signed and sealed at `now`, with the link that names them. */
interface Successors {
  now: number;
  link: RotationLink;
  tokens: SuccessorTokens;
  sealed: SuccessorTokens;
}

/** The token presented for a refresh: its kind and id, the token itself (which seals the successors), and its expiry. */
export interface Presented extends PresentedToken {
  token: string;
  expiresAt: number;
}

/** Whether the presented token is the session's current one of its kind. */
function isCurrent(session: StoredSession, presented: PresentedToken): boolean {
  return presented.id === (presented.kind === 'refresh' ? session.refreshUid : session.accessUid);
}

/**
 * Until when the refresh counts as early (the gem's hijack signal): while the session's current access token is live
 * (0 once flushed). A repeat within the grace window replays what the first request got and is not early again,
 * unless it presents a retired access token that is itself still live: a stolen one must face the same check.
 */
function earlyUntil(session: StoredSession, presented: Presented, rotating: boolean): number {
  if (!rotating || isCurrent(session, presented)) return session.accessExpiresAt;
  return presented.kind === 'access' ? presented.expiresAt : 0;
}
