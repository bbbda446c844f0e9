export { SessionEvents } from './session-events.js';
export type { FlushReason, SessionEvent, SessionEventOf } from './session-event.js';
