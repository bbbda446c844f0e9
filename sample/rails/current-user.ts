import { UnauthorizedError } from '../../lib/index.js';

/** The `user_id` of a verified payload; a session of the Sinatra routes has none and is refused here. */
export function userIdOf(payload: Record<string, unknown>): number {
  const id = payload.user_id;
  if (typeof id !== 'number' || !Number.isInteger(id)) throw new UnauthorizedError('Token does not name a user');
  return id;
}

/** The namespace that groups a user's sessions across devices. */
export function userNamespace(userId: number): string {
  return `user-${userId}`;
}
