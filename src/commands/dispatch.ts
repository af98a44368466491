import { SETTINGS } from '../config.js';
import { printable } from '../domain/app-name.js';
import { UsageError, isSkiffError, userMessage } from '../errors.js';
import { appsCommands } from './apps.js';
import { buildsCommands } from './builds.js';
import { configCommands } from './config.js';
import { logsCommands } from './logs.js';
import { runCommands } from './run.js';
import { psCommands } from './ps.js';
import { certsCommands } from './certs.js';
import { domainsCommands } from './domains.js';
import { accessCommands } from './access.js';
import type { CommandContext, CommandSpec } from './command.js';
import { keysCommands } from './keys.js';
import { refusalNote, unparsedNote, type AuditNote } from './audit.js';
import { outcomeOf, recordEvent } from '../operations/audit.js';
import { assertAdmin } from '../access/policy.js';
import { parseCommandArgs } from './args.js';
import { escapingStream, oneLine } from './safe-output.js';
import { eventsCommands } from './events.js';
import { hooksCommands } from './hooks.js';
import { doctorCommands } from './doctor.js';
import { tokensCommands } from './tokens.js';
import { stacksCommands } from './stacks.js';
import { releasesCommands } from './releases.js';
import { nodesCommands } from './nodes.js';
import { storageCommands } from './storage.js';
import { servicesCommands } from './services.js';
import { cronCommands } from './cron.js';
import { pipelinesCommands } from './pipelines.js';
import { maintenanceCommands } from './maintenance.js';

const metaCommands: CommandSpec[] = [
  {
    name: 'help',
    usage: '',
    raw: true,
    summary: 'Show this help',
    async run({ io, caller }) {
      io.stdout.write(renderHelp(caller.via));
    },
  },
  {
    name: 'version',
    usage: '',
    raw: true,
    summary: "Show Skiff's version",
    async run({ io, services }) {
      io.stdout.write(`skiff ${services.version}\n`);
    },
  },
];

/** Every user command, in the order help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  ...appsCommands,
  ...buildsCommands,
  ...releasesCommands,
  ...configCommands,
  ...stacksCommands,
  ...psCommands,
  ...storageCommands,
  ...servicesCommands,
  ...cronCommands,
  ...pipelinesCommands,
  ...maintenanceCommands,
  ...domainsCommands,
  ...certsCommands,
  ...logsCommands,
  ...runCommands,
  ...accessCommands,
  ...eventsCommands,
  ...hooksCommands,
  ...keysCommands,
  ...tokensCommands,
  ...doctorCommands,
  ...nodesCommands,
  ...metaCommands,
];

const byName = new Map<string, CommandSpec>();
for (const spec of COMMANDS) {
  for (const name of [spec.name, ...(spec.aliases ?? [])]) {
    if (byName.has(name)) throw new Error(`command name ${name} registered twice`);
    byName.set(name, spec);
  }
}

function safeNote(make: () => AuditNote): AuditNote {
  try {
    return make();
  } catch {
    return { app: null, detail: {} };
  }
}

export function findCommand(name: string): CommandSpec | undefined {
  return byName.get(name);
}

/** Edits (insert, delete, substitute) that turn a into b. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The command a mistyped name most likely meant: the nearest name or alias within two edits (a third of a long name). */
export function closestCommand(name: string): string | undefined {
  if (name.length > 64) return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const c of COMMANDS.filter((c) => !c.hidden)) {
    for (const candidate of [c.name, ...(c.aliases ?? [])]) {
      const distance = editDistance(name.toLowerCase(), candidate);
      if (distance <= Math.max(2, Math.floor(candidate.length / 3)) && (!best || distance < best.distance)) best = { name: c.name, distance };
    }
  }
  return best?.name;
}

export function renderHelp(via: 'ssh' | 'host' | 'https'): string {
  const lines = [
    via === 'ssh' ? 'Usage: ssh -p PORT git@HOST COMMAND [ARGS]' : 'Usage: skiff COMMAND [ARGS]',
    '',
    'Deploy: git remote add paas ssh://git@HOST:PORT/APP.git && git push paas main',
    '',
    'Commands:',
  ];
  const visible = COMMANDS.filter((c) => !c.hidden);
  const left = visible.map((c) => `${c.name}${c.usage ? ` ${c.usage}` : ''}`);
  const width = Math.max(...left.map((l) => l.length));
  visible.forEach((c, i) => {
    const aliases = c.aliases?.length ? ` (also: ${c.aliases.join(', ')})` : '';
    const admin = c.adminOnly ? ' [admin]' : '';
    lines.push(`  ${left[i].padEnd(width)}  ${c.summary}${aliases}${admin}`);
  });
  if (via === 'host') {
    lines.push('', 'On the host only:', `  ${'server'.padEnd(width)}  Run the SSH server (git push and commands)`, '', 'Settings (environment):');
    const envWidth = Math.max(...SETTINGS.map((s) => s.env.length));
    for (const s of SETTINGS) lines.push(`  ${s.env.padEnd(envWidth)}  ${s.summary} (default: ${s.default || 'none'})`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The one door every command goes through, from SSH or the host: find it,
 * check the caller may run it, run it, and turn any error into one line on
 * stderr and an exit status. Returns the exit status.
 */
export async function dispatch(words: string[], given: Omit<CommandContext, 'args' | 'positionals' | 'values'>): Promise<number> {
  const [name, ...args] = words;
  const spec = name === undefined ? undefined : findCommand(name);
  // A stored value (a host name, an event's detail, a description) reaches the reader's terminal as text, never as a control sequence.
  const ctx = spec?.rawOutput ? given : { ...given, io: { ...given.io, stdout: escapingStream(given.io.stdout), stderr: escapingStream(given.io.stderr) } };
  const { io, services, caller } = ctx;
  try {
    if (name === undefined || name === '--help' || name === '-h') {
      io.stdout.write(renderHelp(caller.via));
      return 0;
    }
    if (name === '--version') {
      io.stdout.write(`skiff ${services.version}\n`);
      return 0;
    }
    if (!spec) {
      const near = closestCommand(name);
      throw new UsageError(`unknown command '${printable(name)}'${near ? `; did you mean ${near}?` : ''} (help lists the commands)`);
    }
    let note = spec.audit && unparsedNote(args);
    try {
      if (spec.adminOnly) assertAdmin(caller, spec.name);
      const parsed = spec.raw ? { positionals: args, values: {} } : parseCommandArgs(spec.name, spec.usage, args);
      if (spec.audit) note = safeNote(() => (spec.audit as NonNullable<CommandSpec['audit']>)(parsed));
      const status = await spec.run({ ...ctx, args, ...parsed });
      const code = typeof status === 'number' ? status : 0;
      if (note) recordEvent(services, caller, spec.name, note, code === 0 ? 'ok' : `exit ${code}`);
      return code;
    } catch (err) {
      // Changes are recorded whatever their outcome; reads when they are refused (who probed what).
      const refusedRead = !note && isSkiffError(err) && err.code === 'DENIED';
      if (note || refusedRead)
        recordEvent(services, caller, spec.name, note ?? refusalNote(args, (name) => services.store.apps.find(name) !== undefined), outcomeOf(err));
      throw err;
    }
  } catch (err) {
    const log = services.log.child({ command: name, user: caller.user, via: caller.via });
    if (isSkiffError(err)) {
      log.info({ code: err.code, msg: err.message }, 'command refused');
      io.stderr.write(` !     ${oneLine(err.message)}\n`);
      return err.exitStatus;
    }
    log.error({ err }, 'command failed');
    io.stderr.write(` !     ${userMessage(err)}\n`);
    return 1;
  }
}
