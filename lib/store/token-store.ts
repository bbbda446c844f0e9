import { randomUUID } from 'node:crypto';
import type {
  AccessLink, PresentedToken, RefreshRelinkResult, RotationLink, RotationResult, StoredSession, SuccessorTokens,
} from './stored-session.js';

/**
 * The session store contract, and the DI token to inject or replace it.
 *
 * Every method is one atomic step: no interleaving of calls may leave half a session or revive a flushed one.
 * A session whose `expiresAt` (or non-zero `idleExpiresAt`) is not after `now` is gone: no method returns, counts or changes it, and the
 * store frees it without a timer per key. Times are Unix seconds and `now` comes from the caller, so that
 * one clock rules the whole module.
 * @publicApi
 */
export abstract class TokenStore {
  /**
   * A new, unguessable session id. A store may shape it (the Redis store puts a hash tag in it, so that a
   * session and its namespace's index share a cluster slot); it must stay URL- and cookie-safe.
   */
  createSessionId(_namespace: string | null): string {
    return randomUUID();
  }

  /**
   * Saves a new session. With `maxPerNamespace`, the oldest sessions of its namespace (by `createdAt`) beyond that
   * many are deleted in the same step; answers their ids.
   */
  abstract create(session: StoredSession, now: number, options?: { maxPerNamespace?: number }): Promise<string[]>;

  /** The live session with this uid, or null. */
  abstract find(uid: string, now: number): Promise<StoredSession | null>;

  /**
   * What {@link find} would answer, if the store can tell without waiting (it keeps its sessions in this process);
   * undefined if it cannot, and the caller then awaits `find`. Lets the guard pass a known token on the memory store
   * without a promise. A store that overrides it answers under the same rules as `find`, and may answer its own
   * record rather than a copy: the module only reads it, at once, and copies whatever it hands an app.
   */
  findNow(_uid: string, _now: number): StoredSession | null | undefined {
    return undefined;
  }

  /**
   * Points the session at a new access token and CSRF secret, only if it is still live and still honours
   * `expectedAccessUid` (so two refreshes racing on one state cannot both win). Answers the updated session, or null.
   * Idempotent: repeating a relink that took effect (a resend after a lost reply) answers the session again.
   */
  abstract relink(uid: string, expectedAccessUid: string, link: AccessLink, now: number): Promise<StoredSession | null>;

  /**
   * A refresh without rotation in one step: if `refreshUid` names the session's current refresh token ('' for a
   * session that never rotated, whose tokens carry none), the session takes `link`. With `stopIfEarly`, a session whose
   * access token is still live answers `early` and changes nothing, so the caller can ask the app first.
   * Idempotent like `relink`: a resend of a relink that took effect answers `relinked` again.
   */
  abstract relinkByRefreshToken(uid: string, refreshUid: string, link: AccessLink, now: number, stopIfEarly: boolean): Promise<RefreshRelinkResult>;

  /**
   * One rotating refresh, in one atomic step. If `presented` is the session's current token, the session takes
   * `link` (a new refresh token id, access token and CSRF secret), remembers the retired ids, and keeps `successors`
   * for `graceSeconds`. If it is the token the last rotation retired and the grace window is open, answers the kept
   * successors instead (a concurrent repeat). Any other token of the session (retired longer ago, or two generations
   * old) is a reuse: the whole session is deleted. A current access token whose access was flushed is `refused`.
   * Idempotent: a resend of a rotation that took effect answers `rotated` again. With `stopIfEarly`, a current token
   * whose session's access token is still live answers `early` and changes nothing, so the caller can ask the app.
   */
  abstract rotate(
    uid: string, presented: PresentedToken, link: RotationLink, successors: SuccessorTokens, graceSeconds: number, now: number,
    stopIfEarly?: boolean,
  ): Promise<RotationResult>;

  /** Deletes one session; answers 1, or 0 when there was none. */
  abstract delete(uid: string, now: number): Promise<number>;

  /** The live sessions of a namespace. */
  abstract list(namespace: string, now: number): Promise<StoredSession[]>;

  /** Deletes every session of a namespace but `exceptUid` (when given); answers how many. */
  abstract deleteNamespace(namespace: string, now: number, exceptUid?: string): Promise<number>;

  /** Ends the access token of every session of a namespace (sets `accessExpiresAt` to 0), keeping the sessions; answers how many. */
  abstract unlinkNamespaceAccess(namespace: string, now: number): Promise<number>;

  /** Deletes every session; answers how many. */
  abstract deleteAll(now: number): Promise<number>;
}
