import { MAX_BUNDLE_BYTES } from '../domain/certificate.js';
import { InvalidError } from '../errors.js';
import { addCertificate, certificateStates, removeCertificate, type HostCertificate } from '../operations/certs.js';
import { HEADING, STEP } from '../output/progress.js';
import { table, writeJson } from './args.js';
import type { CommandSpec } from './command.js';
import { readAll } from './read-all.js';

/** One host's certificate, in a few words. */
export function certificateSummary(c: HostCertificate): string {
  if (c.source === 'none') return c.failure ? `no certificate yet: ${c.failure.error}` : 'no certificate yet (being obtained)';
  return `${c.source}, ${c.issuer}, until ${c.notAfter}`;
}

export const certsCommands: CommandSpec[] = [
  {
    name: 'certs',
    aliases: ['certs:report'],
    usage: 'APP [--json]',
    summary: 'Show each host of the app and its certificate: automatic or custom, issuer, end of validity, or why there is none yet',
    async run({ positionals, values, io, services, caller }) {
      const states = certificateStates({ services, caller }, positionals[0]);
      if (values.json) return writeJson(io.stdout, states);
      io.stdout.write(`${HEADING}${positionals[0]} certificates\n`);
      io.stdout.write(services.config.tls ? table(states.map((s) => [s.host, certificateSummary(s)])) : '(HTTPS is off on this server)\n');
    },
  },
  {
    name: 'certs:add',
    usage: 'APP',
    summary: "Serve the app's hosts that a certificate names with it: one PEM on stdin, chain (leaf first) and unencrypted key",
    audit: ({ positionals }) => ({ app: positionals[0] ?? null, detail: {} }),
    async run({ positionals, io, services, caller }) {
      if ((io.stdin as NodeJS.ReadStream).isTTY)
        throw new InvalidError(`pipe the PEM on stdin, e.g. cat cert.pem key.pem | certs:add ${positionals[0] ?? 'APP'}`);
      const pem = await readAll(io.stdin, MAX_BUNDLE_BYTES + 1, io.signal);
      const { cert, replaced } = await addCertificate({ services, caller }, positionals[0], pem);
      io.stdout.write(`${STEP}${positionals[0]} serves ${cert.names.join(', ')} with the certificate by ${cert.issuer}, until ${cert.notAfter}\n`);
      if (replaced.length) io.stdout.write(`       it replaces the one for ${replaced.flatMap((c) => c.names).join(', ')}\n`);
    },
  },
  {
    name: 'certs:remove',
    usage: 'APP HOST',
    summary: 'Drop the custom certificate that serves HOST; its hosts get automatic certificates again',
    audit: ({ positionals }) => ({ app: positionals[0] ?? null, detail: { host: positionals[1] ?? null } }),
    async run({ positionals, io, services, caller }) {
      const cert = await removeCertificate({ services, caller }, positionals[0], positionals[1]);
      io.stdout.write(`${STEP}${cert.names.join(', ')} of ${positionals[0]} get automatic certificates again\n`);
    },
  },
];
