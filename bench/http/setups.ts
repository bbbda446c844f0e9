/** The setups the HTTP benchmark compares, each on Express and on Fastify. */
export const SETUPS = ['unguarded', 'unguarded-post', 'unguarded-twin', 'pass-guard', 'map-lookup', 'passport-jwt', 'redis-get', 'access-memory', 'access-redis', 'cookie-csrf-redis'] as const;
export type Setup = (typeof SETUPS)[number];

/** The unguarded route each setup is compared with: the same method, so only the guard differs. */
export const BASELINE: Record<Setup, Setup> = {
  unguarded: 'unguarded',
  'unguarded-post': 'unguarded-post',
  // The unguarded app again in a process of its own, measured like a guarded setup: whatever its ratio is off 1.00,
  // the method itself put there.
  'unguarded-twin': 'unguarded',
  'pass-guard': 'unguarded',
  'map-lookup': 'unguarded',
  'passport-jwt': 'unguarded',
  'redis-get': 'unguarded',
  'access-memory': 'unguarded',
  'access-redis': 'unguarded',
  'cookie-csrf-redis': 'unguarded-post',
};
export const ADAPTERS = ['express', 'fastify'] as const;
export type Adapter = (typeof ADAPTERS)[number];

/** What a benchmark server hands the load generator: how to call its guarded route as each of its sessions. */
export interface BenchCredentials {
  method: 'GET' | 'POST';
  path: string;
  /** Headers per session (1 000 distinct live sessions; none for the unguarded route). */
  sessions: Array<Record<string, string>>;
}

/** The HMAC secret every setup signs with (32 bytes, as HS256 asks). */
export const BENCH_SECRET = 'bench-signing-key-0123456789abcdef-bench';
export const SESSION_COUNT = 1000;
