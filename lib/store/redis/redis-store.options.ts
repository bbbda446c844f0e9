import type { ClusterNode, ClusterOptions, Cluster, Redis, RedisOptions, SentinelAddress } from 'ioredis';

/**
 * Where the Redis store connects. Give one of `client`, `cluster`, `sentinels`, `url`, or `host`/`port`/`db`;
 * with none of them, `REDIS_URL` is used, then `redis://127.0.0.1:6379/0`.
 * @publicApi
 */
export interface RedisStoreOptions {
  type: 'redis';
  /** An ioredis client or cluster you own: the store uses it and never disconnects it. */
  client?: Redis | Cluster;
  /** Redis Cluster start-up nodes, e.g. `[{ host: '10.0.0.1', port: 7000 }]` or `['redis://10.0.0.1:7000']`. */
  cluster?: ClusterNode[];
  /** Options for the cluster client (`redisOptions` inside it apply to every node). */
  clusterOptions?: ClusterOptions;
  /** Sentinels to ask for the master named `name`. */
  sentinels?: Array<Partial<SentinelAddress>>;
  /** The Sentinel master group name. */
  name?: string;
  /** A Redis URL, `redis://` or `rediss://` (TLS). */
  url?: string;
  host?: string;
  port?: number;
  db?: number;
  /** TLS options; `{}` turns TLS on with the defaults. */
  tls?: RedisOptions['tls'];
  /** Any other ioredis option (password, username, connectTimeout, ...). */
  redisOptions?: RedisOptions;
  /**
   * Prefix of every key the store writes.
   * @default 'jwt_'
   */
  prefix?: string;
  /**
   * How long one store call may take before the request is answered 503, in milliseconds.
   * @default 2000
   */
  commandTimeout?: number;
}
