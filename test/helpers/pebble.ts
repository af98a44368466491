import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { execa } from 'execa';
import { freePort, tempDir, waitFor } from './skiff.js';

/** openssl: a CA (no ca given), or a certificate the CA signs for NAMES (DNS names or IPs), valid DAYS (-1: expired yesterday). Returns the PEM files. */
export async function makeCertificate(
  dir: string,
  name: string,
  options: { names: string[]; days?: number; ca?: { cert: string; key: string } },
): Promise<{ cert: string; key: string }> {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  const san = options.names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  const days = options.days ?? 30;
  await execa('openssl', ['genrsa', '-out', key, '2048']);
  if (!options.ca) {
    await execa('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-out',
      cert,
      '-days',
      String(days),
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ]);
    return { cert, key };
  }
  const csr = path.join(dir, `${name}.csr`);
  await execa('openssl', ['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${options.names[0]}`]);
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
  await execa('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    options.ca.cert,
    '-CAkey',
    options.ca.key,
    '-CAcreateserial',
    '-out',
    cert,
    '-extfile',
    ext,
    '-days',
    String(days),
  ]);
  return { cert, key };
}

/**
 * pebble, the ACME test CA, on loopback, with pebble-challtestsrv as its DNS
 * (every name resolves to 127.0.0.1), validating challenges for real against
 * the given HTTP and TLS ports.
 */
export class Pebble {
  private constructor(
    private readonly procs: ChildProcess[],
    readonly directory: string,
    /** The root pebble's own HTTPS is signed by. */
    readonly apiRoot: string,
    private readonly managementPort: number,
    private readonly dnsManagementPort: number,
    readonly output: () => string,
    /** host:port of the CA's DNS server (pebble-challtestsrv), on loopback. */
    readonly dnsServer: string,
  ) {}

  /** Makes the CA's DNS answer a TXT query for HOST with VALUE. */
  async setTxt(host: string, value: string): Promise<void> {
    await this.manageDns('/set-txt', { host: `${host}.`, value });
  }

  private manageDns(urlPath: string, body: unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.dnsManagementPort, method: 'POST', path: urlPath, agent: false }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`pebble-challtestsrv answered ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  /** Makes the CA's DNS answer HOST with ADDRESS (a loopback one). */
  async resolve(host: string, address: string): Promise<void> {
    await this.manageDns('/add-a', { host: `${host}.`, addresses: [address] });
  }

  /**
   * pebble on loopback ports of its own, validating against a router on
   * fresh HTTP and TLS ports, and the settings that point a Skiff server at
   * both (apps at APP.skiff.test).
   */
  static async forSkiff(): Promise<{ pebble: Pebble; routerPort: number; tlsPort: number; env: Record<string, string> }> {
    const routerPort = await freePort();
    const tlsPort = await freePort();
    const pebble = await Pebble.start({ http: routerPort, tls: tlsPort });
    const env = {
      SKIFF_DOMAIN: 'skiff.test',
      SKIFF_ROUTER_PORT: String(routerPort),
      SKIFF_ROUTER_TLS_PORT: String(tlsPort),
      SKIFF_ACME_EMAIL: 'ops@skiff.test',
      SKIFF_ACME_CA: pebble.directory,
      SKIFF_ACME_CA_ROOT: pebble.apiRoot,
    };
    return { pebble, routerPort, tlsPort, env };
  }

  static async start(ports: { http: number; tls: number }): Promise<Pebble> {
    const dir = tempDir('pebble');
    const ca = await makeCertificate(dir, 'pebble-api-ca', { names: [] });
    const api = await makeCertificate(dir, 'pebble-api', { names: ['127.0.0.1', 'localhost'], ca });
    const [listen, management, dns] = [await freePort(), await freePort(), await freePort()];
    const config = path.join(dir, 'pebble.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${listen}`,
          managementListenAddress: `127.0.0.1:${management}`,
          certificate: api.cert,
          privateKey: api.key,
          httpPort: ports.http,
          tlsPort: ports.tls,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    let output = '';
    const collect = (p: ChildProcess): ChildProcess => {
      p.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      p.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      return p;
    };
    const dnsManagement = await freePort();
    const dnsServer = collect(
      spawn('pebble-challtestsrv', [
        '-defaultIPv4',
        '127.0.0.1',
        '-defaultIPv6',
        '',
        '-dns01',
        `127.0.0.1:${dns}`,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-management',
        `127.0.0.1:${dnsManagement}`,
      ]),
    );
    const pebble = collect(
      spawn('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dns}`], {
        // No random sleeps before validation, no random nonce refusals: the flow stays real, and quick.
        // No reuse of an earlier valid authorization: each order the router makes is validated, and counted.
        env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
      }),
    );
    const server = new Pebble([dnsServer, pebble], `https://127.0.0.1:${listen}/dir`, ca.cert, management, dnsManagement, () => output, `127.0.0.1:${dns}`);
    await waitFor(
      async () => (await server.get(`https://127.0.0.1:${listen}/dir`)).includes('newOrder'),
      20_000,
      () => `pebble to answer:\n${output}`,
    );
    return server;
  }

  /** The root pebble signs the certificates it issues with (made anew at each start). */
  async issuingRoot(): Promise<string> {
    return this.get(`https://127.0.0.1:${this.managementPort}/roots/0`);
  }

  private get(url: string): Promise<string> {
    return new Promise((resolve, reject) => {
      https
        .get(url, { ca: fs.readFileSync(this.apiRoot), timeout: 5000 }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  }

  stop(): void {
    for (const p of this.procs) p.kill('SIGKILL');
  }
}

/** An HTTPS request to the router on loopback for HOST (its SNI and Host), trusting only CA. */
export function httpsGet(port: number, host: string, ca: string, urlPath = '/'): Promise<{ status: number; body: string; issuer: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, servername: host, path: urlPath, headers: { host }, ca, timeout: 5000, agent: false }, (res) => {
      let body = '';
      const issuer = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().issuer?.CN ?? '');
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, issuer }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
