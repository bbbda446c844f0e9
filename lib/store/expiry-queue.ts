/** An entry of the queue: the time a key expires, and the key. */
interface Deadline {
  at: number;
  key: string;
}

/**
 * A binary min-heap of deadlines, so a store can free expired keys in O(log n) each, lazily, with no timer per key.
 * Entries may go stale (the key was deleted first); the caller checks each popped key against its own record.
 * @internal
 */
export class ExpiryQueue {
  private readonly heap: Deadline[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(at: number, key: string): void {
    const heap = this.heap;
    heap.push({ at, key });
    let child = heap.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (heap[parent].at <= heap[child].at) break;
      [heap[parent], heap[child]] = [heap[child], heap[parent]];
      child = parent;
    }
  }

  /** Removes and answers the keys whose deadline is not after `now`. */
  popDue(now: number): string[] {
    const due: string[] = [];
    while (this.heap.length > 0 && this.heap[0].at <= now) due.push(this.popTop().key);
    return due;
  }

  clear(): void {
    this.heap.length = 0;
  }

  /** Replaces the queue's content, e.g. to drop the stale entries of deleted keys. */
  rebuild(deadlines: Iterable<Deadline>): void {
    this.clear();
    for (const { at, key } of deadlines) this.push(at, key);
  }

  private popTop(): Deadline {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop() as Deadline;
    if (heap.length === 0) return top;
    heap[0] = last;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < heap.length && heap[left].at < heap[smallest].at) smallest = left;
      if (right < heap.length && heap[right].at < heap[smallest].at) smallest = right;
      if (smallest === parent) return top;
      [heap[parent], heap[smallest]] = [heap[smallest], heap[parent]];
      parent = smallest;
    }
  }
}
