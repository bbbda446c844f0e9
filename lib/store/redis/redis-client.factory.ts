import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { MalconfiguredError } from '../../errors/jwt-sessions.errors.js';
import type { RedisStoreOptions } from './redis-store.options.js';

/** Fail fast rather than queue: a request waits at most this long for Redis before it is answered 503. */
const DEFAULT_COMMAND_TIMEOUT = 2000;

/**
 * Builds the ioredis client the options describe: a cluster, a Sentinel group, a URL (`REDIS_URL` when nothing
 * else is given), or host/port/db. Every such client fails a command after one reconnect attempt or the
 * command timeout, so an outage answers 503 quickly instead of holding requests.
 * @internal
 */
export function createRedisClient(options: RedisStoreOptions, env: NodeJS.ProcessEnv = process.env): Redis | Cluster {
  assertOneTarget(options);
  const common: RedisOptions = {
    commandTimeout: options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT,
    maxRetriesPerRequest: 1,
    // Concurrent requests' lookups share one write to the socket: far less CPU per command under load.
    enableAutoPipelining: true,
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    ...options.redisOptions,
  };
  if (options.cluster) {
    return new Cluster(options.cluster, {
      enableAutoPipelining: true,
      ...options.clusterOptions,
      redisOptions: { ...common, ...options.clusterOptions?.redisOptions },
    });
  }
  const db = options.db !== undefined ? { db: options.db } : {};
  if (options.sentinels) return new Redis({ ...common, ...db, sentinels: options.sentinels, name: options.name });
  const hostGiven = options.host !== undefined || options.port !== undefined;
  const url = options.url ?? (hostGiven ? undefined : env.REDIS_URL);
  if (url) return new Redis(url, { ...common, ...db });
  return new Redis({ host: options.host ?? '127.0.0.1', port: options.port ?? 6379, ...common, ...db });
}

function assertOneTarget(options: RedisStoreOptions): void {
  const targets = [
    options.cluster && 'cluster',
    options.sentinels && 'sentinels',
    options.url && 'url',
    (options.host !== undefined || options.port !== undefined) && 'host/port',
  ].filter(Boolean);
  if (targets.length > 1) {
    throw new MalconfiguredError(`store: give only one of cluster, sentinels, url or host/port (got ${targets.join(', ')})`);
  }
  if (options.cluster && options.db !== undefined) throw new MalconfiguredError('store.db: Redis Cluster has only database 0');
  if (options.sentinels && !options.name) throw new MalconfiguredError('store.name: the Sentinel master name is required with sentinels');
  if (options.commandTimeout !== undefined && !(Number.isInteger(options.commandTimeout) && options.commandTimeout > 0)) {
    throw new MalconfiguredError('store.commandTimeout must be a positive whole number of milliseconds');
  }
}
