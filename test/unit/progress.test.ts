import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress, stage } from '../../src/output/progress.js';

function capture(): { sink: PassThrough; text: () => string } {
  const sink = new PassThrough();
  let out = '';
  sink.on('data', (d: Buffer) => (out += d.toString()));
  return { sink, text: () => out };
}

describe('Progress', () => {
  it('writes steps, indented lines and warnings in the Heroku style', () => {
    const { sink, text } = capture();
    const p = new Progress([sink]);
    p.step('Building');
    p.info('one\ntwo');
    p.warn('bad');
    expect(text()).toBe('-----> Building\n       one\n       two\n !     bad\n');
  });

  it('indents tool output that arrives in partial lines, and starts its own lines fresh', () => {
    const { sink, text } = capture();
    const p = new Progress([sink]);
    p.output('Step 1');
    p.output('/2\nnext ');
    p.step('Done');
    expect(text()).toBe('       Step 1/2\n       next \n-----> Done\n');
  });

  it('drops a broken sink and reports it once, while the others keep getting output', () => {
    const { sink: good, text } = capture();
    const bad = new PassThrough();
    const broken: Error[] = [];
    const p = new Progress([good, bad], (err) => broken.push(err));
    bad.emit('error', new Error('EPIPE'));
    p.step('still here');
    expect(broken.map((e) => e.message)).toEqual(['EPIPE']);
    expect(text()).toBe('-----> still here\n');
  });

  it('times a stage and ends it with its summary', async () => {
    const { sink, text } = capture();
    const result = await stage(
      new Progress([sink]),
      'Releasing',
      async () => 7,
      (n) => `Release v${n} recorded`,
    );
    expect(result).toBe(7);
    expect(text()).toMatch(/^-----> Releasing\n {7}Release v7 recorded \(\d+\.\ds\)\n$/);
  });
});
