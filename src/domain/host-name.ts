import { InvalidError } from '../errors.js';
import { printable } from './app-name.js';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A host name: RFC 1123 labels of ASCII letters, digits and inner dashes, at
 * least two, 253 characters at most, lower-cased. Nothing else passes: no
 * control characters, no non-ASCII letter that lower-cases into ASCII, no
 * trailing dot, and no IP literal (a last label of digits only), since a
 * route for an address would take all traffic sent to that address.
 */
export function parseHostName(input: string | undefined): string {
  const raw = input ?? '';
  const host = /^[\x21-\x7e]*$/.test(raw) ? raw.toLowerCase() : '';
  const labels = host.split('.');
  if (host.length === 0 || host.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    throw new InvalidError(`'${printable(raw)}' is not a host name; give one like www.example.com`);
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) {
    throw new InvalidError(`'${printable(raw)}' is an IP address; a domain must be a host name, like www.example.com`);
  }
  return host;
}

/** The host every app answers at: APP.DOMAIN. */
export function defaultHost(app: string, domain: string): string {
  return `${app}.${domain}`;
}

/**
 * A custom domain for app: a host name outside Skiff's own domain, where
 * every APP.DOMAIN belongs to the app of that name (whether it exists yet or
 * not). Only names under the app's own default host (api.APP.DOMAIN) are
 * its to take there.
 */
export function parseCustomDomain(input: string | undefined, app: string, domain: string, reserved: readonly string[] = []): string {
  const host = parseHostName(input);
  if (reserved.includes(host)) throw new InvalidError(`${host} is the server's own (git over HTTPS); it cannot be an app's domain`);
  const own = defaultHost(app, domain);
  if (host === own) throw new InvalidError(`${host} is ${app}'s own host already; domains ${app} lists it`);
  if ((host === domain || host.endsWith(`.${domain}`)) && !host.endsWith(`.${own}`)) {
    throw new InvalidError(`${host} is under ${domain}, where each name belongs to the app of that name; add a domain of your own, or one under ${own}`);
  }
  return host;
}
