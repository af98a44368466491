import { InvalidError } from '../errors.js';

/** An app in maintenance: every request gets 503 but those under an allowed path. */
export interface Maintenance {
  message: string | null;
  allowPaths: string[];
  since: string;
}

export const MAX_MESSAGE = 500;
export const MAX_ALLOW_PATHS = 10;

/**
 * A maintenance message goes into the router's answers, which Caddy reads
 * for placeholders ({env.…} would print the server's environment): braces
 * are refused, as are control characters; HTML and JSON escaping is the
 * router config's.
 */
export function parseMaintenanceMessage(input: string): string {
  if (input.length === 0 || input.length > MAX_MESSAGE) throw new InvalidError(`--message takes 1 to ${MAX_MESSAGE} characters`);
  if (/[\u0000-\u001f\u007f]/.test(input)) throw new InvalidError('--message must be one line without control characters');
  if (/[{}]/.test(input)) throw new InvalidError('--message may not contain { or }');
  return input;
}

/** A path prefix that stays open: plain characters only, so it cannot widen into a pattern. */
export function parseAllowPath(input: string): string {
  if (!/^\/[A-Za-z0-9._~\/-]{0,200}$/.test(input) || input.includes('..') || input.includes('//')) {
    throw new InvalidError(`--allow-path '${input.slice(0, 60)}' must be a plain path prefix starting with /, e.g. /webhooks`);
  }
  return input.length > 1 ? input.replace(/\/$/, '') : input;
}
