import { describe, expect, it } from 'vitest';
import { BuildOutputParser } from '../../src/builder/build-output.js';

describe('BuildOutputParser', () => {
  it('reassembles JSON lines split anywhere across chunks', () => {
    const stream = '{"stream":"Step 1/2 : FROM x\\n"}\n{"stream":" ---\\u003e abc\\n"}\n{"aux":{"ID":"sha256:123"}}\n';
    for (let cut = 1; cut < stream.length; cut += 7) {
      const p = new BuildOutputParser();
      const events = [...p.push(stream.slice(0, cut)), ...p.push(Buffer.from(stream.slice(cut))), ...p.end()];
      expect(events).toEqual([{ text: 'Step 1/2 : FROM x\n' }, { text: ' ---> abc\n' }, { imageId: 'sha256:123' }]);
    }
  });

  it('reports an errorDetail line as the failure even though the stream ends normally', () => {
    const p = new BuildOutputParser();
    const events = p.push('{"stream":"ok\\n"}\n{"errorDetail":{"code":3,"message":"returned a non-zero code: 3"},"error":"returned a non-zero code: 3"}\n');
    expect(events).toEqual([{ text: 'ok\n' }, { error: 'returned a non-zero code: 3' }]);
  });

  it('keeps a last line without a newline, and shows non-JSON text as it is', () => {
    const p = new BuildOutputParser();
    expect(p.push('{"status":"Pulling","progress":"[==>  ]"}')).toEqual([]);
    expect(p.end()).toEqual([{ text: 'Pulling [==>  ]\n' }]);
    expect(new BuildOutputParser().push('plain text\n')).toEqual([{ text: 'plain text\n' }]);
  });
});

describe('a base image that could not be had', () => {
  it('is named in one line, with the setting that names it where one does; a failing RUN is left as it is', async () => {
    const { baseImageMissing } = await import('../../src/builder/dockerfile-builder.js');
    const { BuildFailedError } = await import('../../src/errors.js');
    const pull = new BuildFailedError('docker build failed: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host');
    const setting = (image: string): string | undefined => (image === 'node:20-bookworm-slim' ? 'SKIFF_STACK_NODE_IMAGE' : undefined);
    expect(baseImageMissing(pull, ['node:20-bookworm-slim'], setting)?.message).toBe(
      'the base image node:20-bookworm-slim is not on this host and could not be pulled; set SKIFF_STACK_NODE_IMAGE to an image your Docker engine has',
    );
    expect(baseImageMissing(pull, [], setting)).toBeUndefined();
    expect(
      baseImageMissing(new BuildFailedError("docker build failed: The command '/bin/sh -c false' returned a non-zero code: 1"), ['x:1'], setting),
    ).toBeUndefined();
  });
});
