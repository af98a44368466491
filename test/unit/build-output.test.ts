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
