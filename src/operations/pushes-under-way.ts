/**
 * The pushes this process runs for hooks (through the push socket, or
 * through a door's pair, git-access.ts), so that a stopping server can abort
 * them (their previous releases keep serving) and wait for them. Light on
 * purpose: an idle server loads this, and the pushes' modules only with the
 * first push.
 */
const underWay = new Set<{ controller: AbortController; done: Promise<unknown> }>();

/** Runs a hook's push as one of those under way; the controller aborts it. */
export function trackPush<T>(controller: AbortController, run: () => Promise<T>): Promise<T> {
  const done = run();
  const entry = { controller, done: done.catch(() => undefined) };
  underWay.add(entry);
  void entry.done.finally(() => underWay.delete(entry));
  return done;
}

/** Aborts every push under way and waits for them, at most timeoutMs. */
export async function abortPushes(timeoutMs: number): Promise<void> {
  for (const push of underWay) push.controller.abort();
  const all = Promise.all([...underWay].map((p) => p.done));
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}
