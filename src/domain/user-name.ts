import { InvalidError } from '../errors.js';
import { printable } from './app-name.js';

export const USER_NAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,63}$/i;

export function parseUserName(input: string | undefined): string {
  if (!input) throw new InvalidError('a user name is required');
  if (!USER_NAME_PATTERN.test(input)) {
    throw new InvalidError(`invalid user name '${printable(input)}': use up to 64 letters, digits, '.', '_', '@' and '-', starting with a letter or digit`);
  }
  return input;
}
