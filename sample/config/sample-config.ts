import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

/** The sample's settings, read once from the environment (see ../shared/sample-contract.md). */
export class SampleConfig {
  readonly port: number;
  readonly signingKey: string;
  readonly accessExpiresIn: number;
  readonly refreshExpiresIn: number;
  readonly userEmail: string;
  readonly userPassword: string;
  readonly production: boolean;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.port = integer(env.PORT, 3000, 'PORT');
    this.signingKey = env.JWT_SIGNING_KEY || generatedKey();
    this.accessExpiresIn = integer(env.JWT_ACCESS_EXP, 3600, 'JWT_ACCESS_EXP');
    this.refreshExpiresIn = integer(env.JWT_REFRESH_EXP, 604800, 'JWT_REFRESH_EXP');
    this.userEmail = env.SAMPLE_USER_EMAIL || 'user@example.com';
    this.userPassword = env.SAMPLE_USER_PASSWORD || 'password123';
    this.production = env.NODE_ENV === 'production';
  }
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
