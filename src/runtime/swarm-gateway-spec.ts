/**
 * The swarm gateway as pure values: its Caddy config and its container. The
 * router reaches a swarm app's web tasks through it: one container on every
 * app's overlay network, published on loopback.
 */
import type { ContainerCreateOptions } from '../docker/client.js';

export const GATEWAY_HEADER = 'X-Skiff-Upstream';

/**
 * The gateway's Caddy: it dials whatever tasks.skiff-APP-PROCESS:PORT the
 * router names in a header, so it never needs reloading; swarm's DNS answers
 * with every running task, and the dial tries the next one when one refuses.
 */
export function gatewayConfig(): Record<string, unknown> {
  return {
    admin: { disabled: true },
    apps: {
      http: {
        servers: {
          gateway: {
            listen: [':80'],
            automatic_https: { disable: true },
            routes: [
              {
                match: [{ header_regexp: { [GATEWAY_HEADER]: { name: 'up', pattern: '^(tasks\\.skiff-[a-z][a-z0-9-]*):([0-9]{1,5})$' } } }],
                handle: [
                  {
                    handler: 'reverse_proxy',
                    headers: { request: { delete: [GATEWAY_HEADER] } },
                    // Every task the name resolves to is an upstream, looked up again each second: requests
                    // are spread over all replicas, even on one kept-alive connection from the router, and a
                    // task that goes is left out (dialing the name itself reached one replica only).
                    dynamic_upstreams: { source: 'a', name: '{http.regexp.up.1}', port: '{http.regexp.up.2}', refresh: '1s' },
                    load_balancing: { selection_policy: { policy: 'round_robin' }, try_duration: '10s', try_interval: '250ms' },
                    // A task on a node that went away answers nothing: give up dialing it after a second, try
                    // another, and leave its address out for a few seconds, until swarm's DNS drops it.
                    health_checks: { passive: { fail_duration: '5s', max_fails: 1 } },
                    transport: { protocol: 'http', dial_timeout: '1s' },
                  },
                ],
              },
              { handle: [{ handler: 'static_response', status_code: 502, body: 'The swarm gateway got no upstream.\n' }] },
            ],
          },
        },
      },
    },
  };
}

/** The gateway of the server whose gateway answers on 127.0.0.1:port. */
export function gatewayName(port: number): string {
  return `skiff-gateway-${port}`;
}

/** Its container: this host's caddy binary (caddyPath) in any glibc image, on the overlay network, published on loopback. */
export function gatewayContainerSpec(options: { port: number; image: string; network: string; caddyPath: string; configFile: string }): ContainerCreateOptions {
  return {
    name: gatewayName(options.port),
    Image: options.image,
    Cmd: ['/usr/local/bin/caddy', 'run', '--config', '/etc/skiff-gateway.json'],
    Env: ['XDG_DATA_HOME=/tmp', 'XDG_CONFIG_HOME=/tmp'],
    Labels: { 'skiff.gateway': String(options.port) },
    ExposedPorts: { '80/tcp': {} },
    HostConfig: {
      Binds: [`${options.caddyPath}:/usr/local/bin/caddy:ro`, `${options.configFile}:/etc/skiff-gateway.json:ro`],
      PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(options.port) }] },
      NetworkMode: options.network,
      RestartPolicy: { Name: 'unless-stopped' },
    },
  };
}
