import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';

/** C0 controls but tab and newline, DEL, and C1 controls: what a terminal may act on. */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const CONTROLS_AND_BREAKS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const escape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Output a terminal shows as text: every control character a user could
 * have put in a stored value (an escape sequence, a carriage return) is
 * written as \uXXXX. That is also how JSON writes it, so --json output
 * parses to exactly the same values.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, escape);
}

/** A value inside one line of a listing: newlines too, so no value can start a line that looks like another entry. */
export function oneLine(text: string): string {
  return text.replace(CONTROLS_AND_BREAKS, escape);
}

/** A stream that escapes control characters on their way to target, whole characters at a time. */
export function escapingStream(target: NodeJS.WritableStream): Writable {
  const decoder = new StringDecoder('utf8');
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      if (text) target.write(escapeControls(text));
      done();
    },
    final(done) {
      const rest = decoder.end();
      if (rest) target.write(escapeControls(rest));
      done();
    },
  });
}
