import { setImmediate } from 'node:timers';

/** At most this many keys per call, so that one call never holds Redis for long. */
const MAX_BATCH = 256;

interface PendingRead<T> {
  key: string;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * Reads issued during one turn of the event loop, sent together as one call whose answer is shared out by key. Under
 * load, many requests' access checks then cost Redis and the client one command instead of one each; alone, a read
 * waits for the end of the turn (on an auto-pipelining client, ioredis then waits one turn more before it writes).
 * @internal
 */
export class LookupBatch<T> {
  private pending: Array<PendingRead<T>> = [];

  /** @param send reads the keys in one call and answers one value per key, in their order */
  constructor(private readonly send: (keys: string[]) => Promise<T[]>) {}

  read(key: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // node:timers' own setImmediate: an app's tests that fake the global one (jest's fake timers) must not hang lookups.
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ key, resolve, reject });
    });
  }

  private flush(): void {
    const all = this.pending;
    this.pending = [];
    for (let start = 0; start < all.length; start += MAX_BATCH) {
      const batch = all.slice(start, start + MAX_BATCH);
      this.sendSafely(batch.map((read) => read.key)).then(
        (values) => batch.forEach((read, i) => read.resolve(values[i])),
        (error: unknown) => batch.forEach((read) => read.reject(error)),
      );
    }
  }

  /** A `send` that throws at once still settles every read of its batch. */
  private sendSafely(keys: string[]): Promise<T[]> {
    try {
      return this.send(keys);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
