import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Server logs: JSON lines on stderr. Facts go in fields (app, build, release, stage), messages stay short. */
export function createLogger(level: string, destination: DestinationStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      // Config values must never reach a log; these are the fields they could travel in.
      redact: { paths: ['env', '*.env', 'config', '*.config'], censor: '[redacted]' },
    },
    destination,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
