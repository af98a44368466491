import crypto from 'node:crypto';
import type { Caller } from '../domain/caller.js';
import { parseUserName } from '../domain/user-name.js';
import { DeniedError, InvalidError, NotFoundError, UsageError } from '../errors.js';
import type { Token } from '../domain/entities.js';
import type { Ask, Services } from './operation.js';

/** Tokens are kept as their SHA-256 only; the token itself is shown once. */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** tokens:create: for the caller, or (admins) for another user; the token is returned this once. */
export function createToken({ services, caller }: Ask, input: { user?: string; name?: string; expiresDays?: string }): { saved: Token; token: string } {
  let user = caller.user;
  if (input.user !== undefined) {
    if (!caller.admin) throw new DeniedError('access denied: only admins may make tokens for others');
    user = parseUserName(input.user);
    if (!services.store.keys.hasUser(user)) throw new NotFoundError(`no user '${user}'; keys:add ${user} first`);
  } else if (caller.via === 'host') {
    throw new UsageError('on the host, say whose token it is: tokens:create --user USER');
  }
  const name = input.name ?? 'git';
  if (!/^[\w .@-]{1,64}$/.test(name)) throw new InvalidError('a token name is 1 to 64 letters, digits, spaces, and . _ @ -');
  let expiresAt: string | null = null;
  if (input.expiresDays !== undefined) {
    const days = Number(input.expiresDays);
    if (!Number.isInteger(days) || days < 1 || days > 3650) throw new InvalidError('--expires takes a number of days from 1 to 3650');
    expiresAt = new Date(Date.now() + days * 86_400_000).toISOString();
  }
  const token = `skf_${crypto.randomBytes(32).toString('base64url')}`;
  const saved = services.store.tokens.create({ user, name, hash: hashToken(token), expiresAt });
  return { saved, token };
}

/** tokens:revoke: one's own, or (admins) anyone's. */
export function revokeToken({ services, caller }: Ask, input: string): number {
  const id = Number(input);
  const token = Number.isInteger(id) ? services.store.tokens.find(id) : undefined;
  if (!token || (!caller.admin && token.user !== caller.user)) throw new NotFoundError(`no token ${input} of yours; tokens lists them`);
  if (!services.store.tokens.revoke(id)) throw new InvalidError(`token ${id} is revoked already`);
  return id;
}

/** The caller a user name and token stand for over HTTPS; undefined when the token is unknown, revoked, expired or another user's. */
export function callerForToken(services: Pick<Services, 'store'>, user: string, secret: string, address: string): Caller | undefined {
  const token = services.store.tokens.use(hashToken(secret), new Date());
  if (!token || token.user !== user) return undefined;
  return { user, admin: services.store.keys.isAdmin(user), via: 'https', fingerprint: `token ${token.id}`, address };
}
