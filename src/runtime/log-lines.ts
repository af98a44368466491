import { Writable } from 'node:stream';

/** One line of an app's output, as `logs` shows it. */
export interface LogLine {
  time: string;
  /** The instance: web.1, worker.2 … */
  source: string;
  text: string;
}

/** Splits Docker's `timestamps: true` log text ("2026-…Z text") into lines, keeping a partial last line back. */
export class TimestampedLineSplitter {
  private pending = '';

  constructor(private readonly source: string) {}

  push(chunk: string): LogLine[] {
    this.pending += chunk;
    const parts = this.pending.split('\n');
    this.pending = parts.pop() ?? '';
    return parts.map((p) => this.toLine(p));
  }

  end(): LogLine[] {
    const rest = this.pending;
    this.pending = '';
    return rest === '' ? [] : [this.toLine(rest)];
  }

  private toLine(raw: string): LogLine {
    const text = raw.replace(/\r$/, '');
    const space = text.indexOf(' ');
    const stamp = space > 0 ? text.slice(0, space) : '';
    if (/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(stamp)) return { time: stamp, source: this.source, text: text.slice(space + 1) };
    return { time: '', source: this.source, text };
  }
}

/** A stream that splits what is written into lines and hands each to onLine (a demuxed log stream's sink). */
export function lineSink(splitter: TimestampedLineSplitter, onLine: (line: LogLine) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      splitter.push(chunk.toString()).forEach(onLine);
      done();
    },
  });
}

/** Heroku's shape: `TIME app[web.1]: text`, with the time cut to milliseconds. */
export function formatLogLine(line: LogLine): string {
  const time = line.time ? line.time.replace(/(\.\d{3})\d*Z$/, '$1Z') : '-';
  return `${time} app[${line.source}]: ${line.text}\n`;
}
