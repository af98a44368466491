import { describe, expect, it } from 'vitest';
import { parseStackfile } from '../../src/domain/stackfile.js';

const FLASK = `
name: flask
description: A flask stack
template: { type: git, uri: https://example.com/flask-init-project.git }
tags: [python]
languages: [{ name: python }]
frameworks: [{ name: flask }]
services:
  main:
    build:  { image: registry.example/flask-build,  mem: 512, cpus: 0.5 }
    verify: { image: registry.example/flask-verify, mem: 512, cpus: 0.5 }
    main: yes
    mem: 512
    cpus: 0.4
    instances: 1
    expose: 5000
    health:
      - { protocol: COMMAND, command: "exit 0", interval: 3, timeout: 2 }
`;

describe('stackfile.yml', () => {
  it('reads the example from the issue', () => {
    const stack = parseStackfile(FLASK);
    expect(stack).toMatchObject({
      name: 'flask',
      description: 'A flask stack',
      template: { type: 'git', uri: 'https://example.com/flask-init-project.git' },
      tags: ['python'],
      languages: [{ name: 'python', version: null }],
      frameworks: [{ name: 'flask', version: null }],
    });
    expect(stack.service).toEqual({
      name: 'main',
      build: { image: 'registry.example/flask-build', memoryMb: 512, cpus: 0.5 },
      verify: { image: 'registry.example/flask-verify', memoryMb: 512, cpus: 0.5 },
      memoryMb: 512,
      cpus: 0.4,
      instances: 1,
      expose: 5000,
      health: [{ protocol: 'COMMAND', command: 'exit 0', path: null, interval: 3, timeout: 2, retries: 3 }],
    });
  });

  it('needs only a name and a build image', () => {
    const stack = parseStackfile('name: tiny\nservices:\n  app:\n    build: { image: tiny-build:1 }\n');
    expect(stack.service).toMatchObject({ name: 'app', verify: null, instances: 1, expose: null, health: [], memoryMb: null, cpus: null });
    expect(stack.template).toBeNull();
  });

  it.each([
    ['', /stackfile is empty/],
    ['name: [', /not valid YAML/],
    ['- a\n- b\n', /\(top level\): must be a mapping/],
    ['services: {}\n', /stackfile: name: is required/],
    ['name: Flask\nservices: {}\n', /stackfile: name: use 1 to 30 lower-case/],
    ['name: node\nservices: {}\n', /stackfile: name: 'node' is taken by a built-in stack/],
    ['name: x\n', /stackfile: services: must be a mapping/],
    ['name: x\nservices: {}\n', /stackfile: services: must name one service/],
    ['name: x\nservices:\n  main: { main: yes }\n', /stackfile: services\.main\.build: is required/],
    ['name: x\nservices:\n  main: { build: { image: "Bad Image" } }\n', /services\.main\.build\.image: must be an image reference/],
    ['name: x\nservices:\n  main: { build: { image: b }, expose: 70000 }\n', /services\.main\.expose: must be a whole number from 1 to 65535/],
    ['name: x\nservices:\n  main: { build: { image: b }, mem: lots }\n', /services\.main\.mem: must be a whole number/],
    ['name: x\nservices:\n  main: { build: { image: b }, cpus: -1 }\n', /services\.main\.cpus: must be a number/],
    ['name: x\nservices:\n  main: { build: { image: b }, health: [{ protocol: TCP }] }\n', /services\.main\.health\[0\]\.protocol: must be COMMAND or HTTP/],
    ['name: x\nservices:\n  main: { build: { image: b }, health: [{ protocol: COMMAND }] }\n', /services\.main\.health\[0\]\.command: is required/],
    ['name: x\nservices:\n  main: { build: { image: b }, health: [{ protocol: HTTP, path: nope }] }\n', /health\[0\]\.path: must be a path starting with \//],
    [
      'name: x\nservices:\n  main: { build: { image: b }, health: [{ protocol: HTTP, interval: 3600 }] }\n',
      /health\[0\]\.interval: must be a number from 0 to 60/,
    ],
    [
      'name: x\nservices:\n  main: { build: { image: b }, health: [{ protocol: HTTP, interval: 60, timeout: 60, retries: 100 }] }\n',
      /health\[0\]: may take at most 600 seconds in all/,
    ],
    ['name: x\nservices:\n  main: { build: { image: b }, colour: red }\n', /services\.main\.colour: unknown field/],
    ['name: x\nservices:\n  a: { build: { image: b } }\n  b: { build: { image: b } }\n', /services: only one service is supported/],
    ['name: x\ntemplate: { type: svn, uri: u }\nservices:\n  a: { build: { image: b } }\n', /template\.type: must be git/],
    ['name: x\nflavour: 1\nservices:\n  a: { build: { image: b } }\n', /stackfile: flavour: unknown field/],
  ])('refuses %j with the field and the reason', (source, message) => {
    expect(() => parseStackfile(source)).toThrow(message);
  });

  it('reads HTTP health checks with a default path', () => {
    const stack = parseStackfile(
      'name: x\nservices:\n  main:\n    build: { image: b }\n    health: [{ protocol: http }, { protocol: HTTP, path: /up, retries: 5 }]\n',
    );
    expect(stack.service.health.map((h) => [h.protocol, h.path, h.retries])).toEqual([
      ['HTTP', '/', 3],
      ['HTTP', '/up', 5],
    ]);
  });
});
