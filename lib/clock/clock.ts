/**
 * The module's one source of time, in milliseconds since the epoch. Token `exp`, store expiry and the
 * early-refresh check all read it, so tests can replace it (`overrideProvider(Clock)`) and step past expiries.
 * @publicApi
 */
export abstract class Clock {
  abstract now(): number;
}

/** The real clock. @publicApi */
export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}

/** Whole seconds of a millisecond time, as JWT claims count them. @internal */
export function toSeconds(milliseconds: number): number {
  return Math.floor(milliseconds / 1000);
}

/** The Date of a time in Unix seconds. @internal */
export function dateOf(seconds: number): Date {
  return new Date(seconds * 1000);
}
