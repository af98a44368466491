import http from 'node:http';

/** The status of a GET at host:port and path, or undefined when nothing answers HTTP. */
export function probeHttp(host: string, port: number, path = '/', timeoutMs = 2000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, timeout: timeoutMs, agent: false, headers: { 'user-agent': 'skiff-ready-check' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}
