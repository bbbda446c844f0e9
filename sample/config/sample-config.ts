import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

/** The HTTP platform the sample runs on (SAMPLE_ADAPTER), read before the app exists. */
export function sampleAdapter(env: NodeJS.ProcessEnv = process.env): 'express' | 'fastify' {
  const adapter = env.SAMPLE_ADAPTER || 'express';
  if (adapter !== 'express' && adapter !== 'fastify') throw new Error(`SAMPLE_ADAPTER must be express or fastify, not ${adapter}`);
  return adapter;
}

/** The sample's settings, read once from the environment (see ../shared/sample-contract.md). */
export class SampleConfig {
  readonly port: number;
  readonly adapter: 'express' | 'fastify';
  readonly store: 'memory' | 'redis';
  readonly redisUrl?: string;
  /** Redis Cluster start-up nodes from REDIS_CLUSTER_NODES (`host:port,host:port`). */
  readonly redisClusterNodes?: Array<{ host: string; port: number }>;
  readonly signingKey: string;
  readonly accessExpiresIn: number;
  readonly refreshExpiresIn: number;
  readonly userEmail: string;
  readonly userPassword: string;
  readonly production: boolean;
  /** JWT_ROTATE_REFRESH=1: refresh-token rotation with reuse detection. */
  readonly rotateRefresh: boolean;
  /** JWT_REFRESH_GRACE: the rotation grace window in seconds (the library's default when unset). */
  readonly refreshGrace?: number;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.port = integer(env.PORT, 3000, 'PORT');
    this.adapter = sampleAdapter(env);
    this.redisUrl = env.REDIS_URL || undefined;
    this.redisClusterNodes = clusterNodes(env.REDIS_CLUSTER_NODES);
    this.store = storeOf(env.JWT_SESSIONS_STORE, Boolean(this.redisUrl || this.redisClusterNodes));
    this.signingKey = env.JWT_SIGNING_KEY || generatedKey();
    this.accessExpiresIn = integer(env.JWT_ACCESS_EXP, 3600, 'JWT_ACCESS_EXP');
    this.refreshExpiresIn = integer(env.JWT_REFRESH_EXP, 604800, 'JWT_REFRESH_EXP');
    this.userEmail = env.SAMPLE_USER_EMAIL || 'user@example.com';
    this.userPassword = env.SAMPLE_USER_PASSWORD || 'password123';
    this.production = env.NODE_ENV === 'production';
    this.rotateRefresh = flag(env.JWT_ROTATE_REFRESH, 'JWT_ROTATE_REFRESH');
    this.refreshGrace = env.JWT_REFRESH_GRACE ? integer(env.JWT_REFRESH_GRACE, 0, 'JWT_REFRESH_GRACE') : undefined;
    if (this.refreshGrace !== undefined && !this.rotateRefresh) throw new Error('JWT_REFRESH_GRACE needs JWT_ROTATE_REFRESH=1');
  }
}

function storeOf(value: string | undefined, redisConfigured: boolean): 'memory' | 'redis' {
  const store = value || (redisConfigured ? 'redis' : 'memory');
  if (store !== 'memory' && store !== 'redis') throw new Error(`JWT_SESSIONS_STORE must be memory or redis, not ${store}`);
  return store;
}

function clusterNodes(value: string | undefined): Array<{ host: string; port: number }> | undefined {
  if (!value) return undefined;
  return value.split(',').map((node) => {
    const match = /^\s*([^:\s]+):(\d+)\s*$/.exec(node);
    if (!match) throw new Error(`REDIS_CLUSTER_NODES must be host:port,host:port..., not ${value}`);
    return { host: match[1], port: Number(match[2]) };
  });
}

function flag(value: string | undefined, name: string): boolean {
  if (value === undefined || value === '' || value === '0') return false;
  if (value === '1') return true;
  throw new Error(`${name} must be 1 or 0, not ${value}`);
}

function integer(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${name} must be a whole number, not ${value}`);
  return parsed;
}

function generatedKey(): string {
  new Logger('SampleConfig').warn('JWT_SIGNING_KEY is not set: using a random key, so sessions end when the app restarts');
  return randomBytes(48).toString('base64url');
}
