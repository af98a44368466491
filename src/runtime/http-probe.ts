import http from 'node:http';

/** Resolves true when anything answers HTTP at host:port (any status), false otherwise. */
export function probeHttp(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/', timeout: timeoutMs, headers: { 'user-agent': 'skiff-ready-check' } }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
