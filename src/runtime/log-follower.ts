import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from '../docker/engine.js';
import { demuxLogs } from '../docker/client.js';
import { TimestampedLineSplitter, lineSink, type LogLine } from './log-lines.js';
import type { LogOptions } from './runtime.js';

type LogStream = NodeJS.ReadableStream & { destroy?: () => void };

/** Something the engine keeps logs of: a container, or a swarm service (all its tasks). */
export interface LogSource {
  id: string;
  /** The instance a line comes from: web.1, or the task a service line names. */
  name(line: LogLine): LogLine;
  /** The last `tail` lines, as the engine's multiplexed log bytes. */
  recent(tail: number): Promise<Buffer>;
  /** Lines from `since` (seconds since the epoch) on, as they come. */
  follow(since: number): Promise<LogStream>;
}

/**
 * Every runtime's `logs`: recent lines of all sources merged by time, the
 * newest `tail` of them; then, with follow, new lines of each source, and of
 * sources that appear later (a deploy, a scale), until the signal aborts.
 * `list` is asked again every poll (later: true, when a source that ended
 * should not be read again); `onPoll` lets a source learn new names.
 */
export async function followLogs(
  engine: Engine,
  list: (later: boolean) => Promise<LogSource[]>,
  options: LogOptions,
  onLine: (line: LogLine) => void,
  poll: { ms: number; onPoll?: () => Promise<void> } = { ms: 1000 },
): Promise<void> {
  const sources = await list(false);
  const recent: LogLine[] = [];
  const lastSeen = new Map<string, string>();
  for (const s of sources) {
    const buf = await s.recent(options.tail).catch(() => Buffer.alloc(0));
    const splitter = new TimestampedLineSplitter('');
    const lines = [...splitter.push(demuxLogs(buf)), ...splitter.end()].map((l) => s.name(l));
    lastSeen.set(s.id, lines.at(-1)?.time ?? '');
    recent.push(...lines);
  }
  recent.sort((a, b) => a.time.localeCompare(b.time));
  for (const line of recent.slice(-options.tail)) onLine(line);
  if (!options.follow) return;

  // `since` has one-second steps: lines already shown (recent ones, or before a source's stream ended) are skipped by time.
  const since = Math.floor(Date.now() / 1000) - 1;
  const attached = new Map<string, LogStream>();
  const attach = async (s: LogSource): Promise<void> => {
    if (attached.has(s.id) || options.signal.aborted) return;
    const stream = await s.follow(since);
    attached.set(s.id, stream);
    const splitter = new TimestampedLineSplitter('');
    const shown = lastSeen.get(s.id) ?? '';
    const emit = (line: LogLine): void => {
      if (line.time !== '' && line.time <= shown) return;
      if (line.time !== '') lastSeen.set(s.id, line.time);
      onLine(s.name(line));
    };
    const sink = lineSink(splitter, emit);
    engine.containers.demux(stream, sink, sink);
    stream.on('end', () => {
      splitter.end().forEach(emit);
      attached.delete(s.id);
    });
    stream.on('error', () => attached.delete(s.id));
  };
  for (const s of sources) await attach(s).catch(() => undefined);
  while (!options.signal.aborted) {
    await sleep(poll.ms, undefined, { signal: options.signal }).catch(() => undefined);
    if (options.signal.aborted) break;
    await poll.onPoll?.().catch(() => undefined);
    for (const s of await list(true).catch(() => [])) await attach(s).catch(() => undefined);
  }
  for (const stream of attached.values()) stream.destroy?.();
}
