import { TestClock } from '../../lib/testing/index.js';

/** The testing entry's clock, starting on a fixed date unless told otherwise, so expected times are constants. */
export class ManualClock extends TestClock {
  constructor(start = Date.UTC(2026, 0, 1)) {
    super(start);
  }
}
