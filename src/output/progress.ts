import { Writable } from 'node:stream';

/** Heroku's and Dokku's marks: a step, a heading over a listing, and the indent of the lines under them. */
export const STEP = '-----> ';
export const HEADING = '=====> ';
export const INDENT = '       ';

/** How long one step of a push took; depth 1 is a step within a depth-0 one. */
export interface StepTime {
  step: string;
  depth: number;
  ms: number;
}

/**
 * What the pusher sees, in the style of Heroku and Dokku: `-----> ` for a
 * step, indented lines under it, ` !     ` for a problem. Everything also goes
 * to the build log. A sink that breaks (the pusher hung up) is dropped and
 * reported once through onBroken.
 */
export class Progress {
  private readonly sinks: Set<Writable>;
  private atLineStart = true;
  private times: StepTime[] | undefined;
  private depth = 0;

  constructor(
    sinks: Writable[],
    private readonly onBroken: (err: Error) => void = () => {},
  ) {
    this.sinks = new Set(sinks);
    for (const sink of sinks) this.watch(sink);
  }

  addSink(sink: Writable): void {
    this.sinks.add(sink);
    this.watch(sink);
  }

  removeSink(sink: Writable): void {
    this.sinks.delete(sink);
  }

  /** From now on, stages and timed steps note how long they take; returns the list they are noted in (in the order they began). */
  recordTimes(): StepTime[] {
    this.times = [];
    return this.times;
  }

  /** Notes a step whose time was measured elsewhere (the hook's start, before there was a Progress). */
  noteTime(step: string, ms: number): void {
    this.times?.push({ step, depth: this.depth, ms: Math.round(ms) });
  }

  /** Runs fn as a named step; when times are noted, notes how long it took, also when it fails. */
  async time<T>(step: string, fn: () => Promise<T>): Promise<T> {
    if (!this.times) return fn();
    const entry: StepTime = { step, depth: this.depth, ms: 0 };
    this.times.push(entry);
    const started = performance.now();
    this.depth++;
    try {
      return await fn();
    } finally {
      this.depth--;
      entry.ms = Math.round(performance.now() - started);
    }
  }

  step(title: string): void {
    this.line(`${STEP}${title}`);
  }

  info(text: string): void {
    for (const line of text.replace(/\n$/, '').split('\n')) this.line(`${INDENT}${line}`);
  }

  warn(text: string): void {
    this.line(` !     ${text}`);
  }

  /** Output of a tool (build lines, container logs), indented, possibly in partial lines. */
  output(text: string): void {
    let out = '';
    for (const ch of text.replace(/\r\n/g, '\n')) {
      if (this.atLineStart && ch !== '\n') out += INDENT;
      out += ch;
      this.atLineStart = ch === '\n';
    }
    this.write(out);
  }

  /** A stream whose writes are output(): for a tool's stdout and stderr. */
  outputStream(): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.output(chunk.toString());
        done();
      },
    });
  }

  /** One line of our own, on a fresh line even when a tool left its last one unfinished. */
  private line(text: string): void {
    this.write(`${this.atLineStart ? '' : '\n'}${text}\n`);
    this.atLineStart = true;
  }

  private write(text: string): void {
    for (const sink of this.sinks) {
      if (!sink.destroyed && sink.writable) sink.write(text);
    }
  }

  private watch(sink: Writable): void {
    sink.on('error', (err: Error) => {
      this.sinks.delete(sink);
      this.onBroken(err);
    });
  }
}

/** Runs one pipeline stage: announces it, times it (noted under its title), and ends with its one-line result. */
export async function stage<T>(progress: Progress, title: string, run: () => Promise<T>, summary: (result: T) => string): Promise<T> {
  progress.step(title);
  const started = performance.now();
  const result = await progress.time(title, run);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  progress.info(`${summary(result)} (${seconds}s)`);
  return result;
}
