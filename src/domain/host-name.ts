import { InvalidError } from '../errors.js';
import { printable } from './app-name.js';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A host name for domains:add: lower-case DNS labels, at least two, 253 characters at most. */
export function parseHostName(input: string | undefined): string {
  const host = (input ?? '').toLowerCase();
  const labels = host.split('.');
  if (host.length === 0 || host.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    throw new InvalidError(`'${printable(input ?? '')}' is not a host name; give one like www.example.com`);
  }
  return host;
}
