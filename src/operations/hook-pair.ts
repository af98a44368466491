import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { quarantineEnv } from '../domain/quarantine.js';
import { Progress } from '../output/progress.js';
import type { Services } from './operation.js';
import { trackPush } from './pushes-under-way.js';

/** A hook's header is a few ref lines and paths; more is no hook's (the push socket's too). */
export const MAX_HEADER_BYTES = 1024 * 1024;

/** The environment that tells the hook it has the pair (hooks/pre-receive). */
export const PUSH_PAIR_ENV = { SKIFF_PUSH_PAIR: '1' };

/** The file descriptors of the pair in git and its hook: what comes back, and what goes each way. */
export const PAIR_FDS = { output: 3, control: 4 } as const;

/** What the door knows of a push without asking the hook. */
export interface PairPush {
  repoDir: string;
  pusher: string;
  source: string;
  created: boolean;
  /** git's receive-pack, which the door started: the hook's parent. */
  lockPid: number;
}

/**
 * A door's push, run in this process without a hook process of node's: the
 * door starts git with two sockets more (fd 3, output; fd 4, control), which
 * git's pre-receive hook inherits. The hook (a shell script) writes its start
 * time, git's quarantine variables and the ref lines on fd 4, ending with an
 * empty line; it prints what comes on fd 3 until it ends, then exits with the
 * status that comes on fd 4. The pusher leaving (gone), or git and the hook
 * going, aborts the push. A push of refs that deploy nothing never writes.
 */
export function servePushPair(services: Services, push: PairPush, output: Duplex, control: Duplex, gone: AbortSignal): void {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  gone.addEventListener('abort', abort, { once: true });
  // Nothing comes back on the output socket; read it anyway, or its end would never be seen (nor git's close).
  output.resume();
  output.on('error', abort);
  control.on('error', abort);
  control.on('close', abort);
  let text = '';
  const onData = (chunk: Buffer): void => {
    text += chunk.toString();
    const end = text.indexOf('\n\n');
    if (end < 0) {
      if (text.length > MAX_HEADER_BYTES) control.destroy();
      return;
    }
    control.off('data', onData);
    void trackPush(controller, () => run(services, push, text.slice(0, end + 1), output, control, controller)).catch((err: unknown) => {
      services.log.error({ err, repo: push.repoDir }, 'a push through its door failed');
      output.destroy();
      control.destroy();
    });
  };
  control.on('data', onData);
}

async function run(services: Services, push: PairPush, header: string, output: Duplex, control: Duplex, controller: AbortController): Promise<void> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!output.destroyed) output.write(chunk);
      callback();
    },
  });
  const progress = new Progress([sink], () => controller.abort());
  let status = 1;
  try {
    const lines = header.split('\n');
    const fields = new Map(lines.slice(0, 4).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
    const started = Number(fields.get('SKIFF_HOOK_STARTED'));
    fields.delete('SKIFF_HOOK_STARTED');
    const passed = Object.fromEntries([...fields].filter(([, value]) => value !== ''));
    let gitEnv: Record<string, string>;
    try {
      gitEnv = quarantineEnv(passed, push.repoDir);
    } catch (err) {
      services.log.warn({ err, repo: push.repoDir }, 'refused a push through its door');
      progress.warn(`Push rejected: ${(err as Error).message}`);
      return;
    }
    // The shell hook's clock is the epoch in nanoseconds; from its start to here is the push's first step.
    const startedMs = Number.isFinite(started) && started > 0 ? performance.timeOrigin + performance.now() - started / 1e6 : undefined;
    const { runHookPush } = await import('./receive.js');
    status = await runHookPush(
      services,
      {
        ...push,
        refLines: lines.slice(4).join('\n'),
        startedMs: startedMs !== undefined && startedMs >= 0 ? startedMs : undefined,
        gitEnv: Object.keys(gitEnv).length ? gitEnv : undefined,
      },
      progress,
      controller.signal,
    );
  } finally {
    output.end();
    control.end(`${status}\n`);
  }
}
