import { Injectable, Logger } from '@nestjs/common';
import type { SessionEvent, SessionEventOf } from './session-event.js';

type Listener = (event: SessionEvent) => unknown;

/**
 * The session lifecycle events, for an app to audit or alert on (a reuse detected is worth a page). Inject it and
 * subscribe; listeners run after the operation took effect, and a listener that throws or rejects is logged, never
 * failing the request or the process. Nothing is kept when nobody listens.
 * @example
 * ```ts
 * @Injectable()
 * export class SessionAudit implements OnModuleInit {
 *   constructor(private readonly events: SessionEvents) {}
 *   onModuleInit() {
 *     this.events.on('refresh.reuse-detected', ({ sessionId, namespace }) => this.alert(sessionId, namespace));
 *   }
 * }
 * ```
 * @publicApi
 */
@Injectable()
export class SessionEvents {
  private readonly listeners = new Set<{ type: SessionEvent['type'] | '*'; listener: Listener }>();
  private readonly logger = new Logger('JwtSessions');

  /** Calls `listener` for each event of `type` (or of every type, with `'*'`); answers a function that stops it. */
  on<T extends SessionEvent['type'] | '*'>(
    type: T, listener: (event: T extends SessionEvent['type'] ? SessionEventOf<T> : SessionEvent) => unknown,
  ): () => void {
    const entry = { type, listener: listener as Listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /** @internal */
  emit(event: SessionEvent): void {
    if (this.listeners.size === 0) return;
    const frozen = Object.freeze(event);
    for (const { type, listener } of this.listeners) {
      if (type === '*' || type === event.type) this.call(listener, frozen);
    }
  }

  private call(listener: Listener, event: SessionEvent): void {
    try {
      const result = listener(event);
      if (result instanceof Promise) result.catch((error: unknown) => this.report(event, error));
    } catch (error) {
      this.report(event, error);
    }
  }

  private report(event: SessionEvent, error: unknown): void {
    // Whatever was thrown (a Symbol, a null-prototype object, an error whose message getter throws), reporting it must not throw.
    let reason = 'a value that is not an Error';
    try {
      if (error instanceof Error) reason = String(error.message);
    } catch {
      // keep the generic reason
    }
    try {
      this.logger.error(`A ${event.type} listener failed: ${reason}`);
    } catch {
      // a broken logger must not fail the request either
    }
  }
}
