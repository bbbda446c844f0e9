import { Clock } from '../clock/clock.js';

/**
 * A clock that moves only when told, so tests step past expiries instead of sleeping. It starts at the real time
 * (whole seconds), which a Redis store needs, since Redis expires keys by its own clock.
 * @publicApi
 */
export class TestClock extends Clock {
  private current: number;

  constructor(start: number = Math.floor(Date.now() / 1000) * 1000) {
    super();
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Moves the clock forward by a number of seconds. */
  advance(seconds: number): void {
    this.current += seconds * 1000;
  }

  /** Sets the time, in milliseconds since the epoch. */
  set(milliseconds: number): void {
    this.current = milliseconds;
  }
}
