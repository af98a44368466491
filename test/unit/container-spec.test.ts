import { describe, expect, it } from 'vitest';
import { containerSpec } from '../../src/runtime/container-spec.js';

describe('containerSpec', () => {
  it('labels, names, publishes and restarts the instance', () => {
    const spec = containerSpec(
      { app: 'shop', release: 4, process: 'web', image: 'skiff/shop:v4', env: { A: 'b=c' }, port: 5000 },
      '127.0.0.1',
      40001,
    );
    expect(spec).toMatchObject({
      name: 'skiff-shop-web-v4',
      Image: 'skiff/shop:v4',
      Labels: { 'skiff.app': 'shop', 'skiff.release': '4', 'skiff.process': 'web' },
      ExposedPorts: { '5000/tcp': {} },
      HostConfig: {
        PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '40001' }] },
        RestartPolicy: { Name: 'unless-stopped' },
      },
    });
    expect(spec.Env).toEqual(['A=b=c', 'PORT=5000']);
  });
});
