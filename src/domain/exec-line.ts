import { InvalidError } from '../errors.js';

/**
 * Exec strings longer than this are refused before parsing. The SSH
 * transport ends a connection whose packet is over 35000 bytes, so the limit
 * stays just below that, where the refusal still reaches the user, and above
 * a config:set of the largest value (32 KiB).
 */
export const MAX_EXEC_LENGTH = 34 * 1024;

/**
 * Split an SSH exec string into words the way a POSIX shell splits a simple
 * command — single quotes, double quotes and backslashes — and nothing else:
 * `;`, `|`, `$(…)`, backticks and globs are ordinary characters. No shell is
 * ever involved, so this only has to be right about quoting.
 */
export function splitExecLine(line: string): string[] {
  if (line.length > MAX_EXEC_LENGTH) {
    throw new InvalidError(`command too long (${line.length} bytes; at most ${MAX_EXEC_LENGTH})`);
  }
  if (line.includes('\0')) {
    throw new InvalidError('command contains a NUL byte');
  }
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new InvalidError('unterminated single quote in command');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new InvalidError('unterminated double quote in command');
        const d = line[i];
        if (d === '"') break;
        // Inside double quotes a backslash escapes only these, as in sh.
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1])) {
          if (line[i + 1] !== '\n') word += line[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 < line.length) {
        if (line[i + 1] !== '\n') word += line[i + 1];
        i += 2;
      } else {
        i++;
      }
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
