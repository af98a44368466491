/**
 * Docker's build endpoint answers with a stream of JSON objects, one per line,
 * split across chunks at arbitrary places. An error arrives as a line with
 * `errorDetail` in a stream that otherwise ends normally, so every line must
 * be checked: the end of the stream says nothing about success.
 */
export interface BuildEvent {
  /** Text to show the pusher (may hold several lines). */
  text?: string;
  /** The build failed with this message. */
  error?: string;
  /** The image ID, when the engine reports it. */
  imageId?: string;
}

export class BuildOutputParser {
  private pending = '';

  /** Feed a chunk; returns the events of the lines it completed. */
  push(chunk: string | Buffer): BuildEvent[] {
    this.pending += chunk.toString();
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    return lines.flatMap((line) => parseLine(line));
  }

  /** The stream ended: parse what is left. */
  end(): BuildEvent[] {
    const rest = this.pending;
    this.pending = '';
    return parseLine(rest);
  }
}

function parseLine(line: string): BuildEvent[] {
  const trimmed = line.trim();
  if (trimmed === '') return [];
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    return [{ text: `${trimmed}\n` }];
  }
  const detail = msg.errorDetail as { message?: unknown } | undefined;
  if (detail || msg.error) {
    return [{ error: String(detail?.message ?? msg.error).trim() }];
  }
  const events: BuildEvent[] = [];
  const aux = msg.aux as { ID?: unknown } | undefined;
  if (aux && typeof aux.ID === 'string') events.push({ imageId: aux.ID });
  if (typeof msg.stream === 'string' && msg.stream !== '') events.push({ text: msg.stream });
  else if (typeof msg.status === 'string') {
    const progress = typeof msg.progress === 'string' ? ` ${msg.progress}` : '';
    events.push({ text: `${msg.status}${progress}\n` });
  }
  return events;
}
