import { Clock } from '../../lib/index.js';

/** A clock that only moves when told: tests step past expiries instead of sleeping. */
export class ManualClock extends Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {
    super();
  }

  now(): number {
    return this.current;
  }

  /** Moves the clock forward by a number of seconds. */
  advance(seconds: number): void {
    this.current += seconds * 1000;
  }
}
