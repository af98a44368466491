import { InvalidError } from '../errors.js';

/** App names end up in paths, container names and host names: this is a security boundary. */
export const APP_NAME_PATTERN = /^[a-z][a-z0-9-]{0,29}$/;

export function parseAppName(input: string | undefined): string {
  if (input === undefined || input === '') {
    throw new InvalidError('an app name is required');
  }
  if (!APP_NAME_PATTERN.test(input)) {
    throw new InvalidError(`invalid app name '${printable(input)}': use 1 to 30 lower-case letters, digits and dashes, starting with a letter`);
  }
  return input;
}

/** A name that follows an app's rules (a pipeline's, a config group's), refused as what it names. */
export function parseNameLikeApp(input: string | undefined, what: string): string {
  if (input === undefined || !APP_NAME_PATTERN.test(input)) {
    throw new InvalidError(`'${printable(input ?? '')}' is not a ${what} name (1 to 30 lower-case letters, digits and dashes, starting with a letter)`);
  }
  return input;
}

/** Show a hostile string safely in a one-line message. */
export function printable(input: string, max = 40): string {
  const clipped = input.length > max ? `${input.slice(0, max)}…` : input;
  return JSON.stringify(clipped).slice(1, -1);
}
