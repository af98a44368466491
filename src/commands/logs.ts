import { InvalidError } from '../errors.js';
import { formatLogLine } from '../runtime/log-lines.js';
import { getApp } from '../access/policy.js';
import type { CommandSpec } from './command.js';

const MAX_LINES = 10_000;
const USAGE = 'APP [-n LINES] [-p TYPE] [-t]';

export const logsCommands: CommandSpec[] = [
  {
    name: 'logs',
    rawOutput: true,
    usage: USAGE,
    summary: "Show an app's output (-t follows it live until you disconnect)",
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const n = values.n === undefined ? 100 : Number(values.n);
      if (!Number.isInteger(n) || n < 1 || n > MAX_LINES) throw new InvalidError(`-n takes a whole number from 1 to ${MAX_LINES}`);
      const process = values.p as string | undefined;
      if (process !== undefined && !/^[a-z][a-z0-9_-]{0,29}$/.test(process)) throw new InvalidError(`'${process}' is not a process type`);
      await services.runtime.logs(app.name, { tail: n, process, follow: values.t === true, signal: io.signal }, (line) => {
        io.stdout.write(formatLogLine(line));
      });
    },
  },
];
