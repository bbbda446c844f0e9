import { BadRequestException, Injectable, NotFoundException, type OnModuleInit } from '@nestjs/common';
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { SampleConfig } from '../config/sample-config.js';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;

/** A user as the API shows it. */
export interface PublicUser {
  id: number;
  email: string;
}

interface StoredUser extends PublicUser {
  salt: Buffer;
  hash: Buffer;
}

/** The sample's users, in memory, with scrypt-hashed passwords; seeded with one user from the config. */
@Injectable()
export class UsersService implements OnModuleInit {
  private readonly users = new Map<number, StoredUser>();
  private nextId = 1;

  constructor(private readonly config: SampleConfig) {}

  async onModuleInit(): Promise<void> {
    await this.create(this.config.userEmail, this.config.userPassword);
  }

  async create(email: string, password: string): Promise<PublicUser> {
    if (this.findByEmail(email)) throw new BadRequestException('Email is already taken');
    // Reserve the address before hashing yields, so two concurrent sign-ups cannot both take it.
    const user: StoredUser = { id: this.nextId++, email: email.toLowerCase(), salt: randomBytes(16), hash: Buffer.alloc(0) };
    this.users.set(user.id, user);
    user.hash = await scryptAsync(password, user.salt, 32);
    return publicOf(user);
  }

  /** The user with these credentials, or null; the same work is done whether or not the email exists. */
  async authenticate(email: string, password: string): Promise<PublicUser | null> {
    const user = this.findByEmail(email);
    const hash = await scryptAsync(password, user?.salt ?? Buffer.alloc(16), 32);
    return user && user.hash.length === hash.length && timingSafeEqual(hash, user.hash) ? publicOf(user) : null;
  }

  get(id: number): PublicUser {
    const user = this.users.get(id);
    if (!user) throw new NotFoundException(`User ${id} not found`);
    return publicOf(user);
  }

  private findByEmail(email: string): StoredUser | undefined {
    const wanted = email.toLowerCase();
    return [...this.users.values()].find((user) => user.email === wanted);
  }
}

function publicOf(user: StoredUser): PublicUser {
  return { id: user.id, email: user.email };
}
