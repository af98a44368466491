/**
 * A signal that aborts with the caller's, or when ms have passed; timedOut
 * tells the two apart, so the error can name the limit that was reached.
 *
 * A plain timer, not AbortSignal.timeout: a timeout signal combined with
 * AbortSignal.any is held weakly, and one nobody else refers to can be
 * collected while the wait goes on, so the limit never comes. The timer is
 * unref'd (it keeps no process alive) and stops when the caller's signal does.
 */
export function withTimeout(signal: AbortSignal, ms: number): { signal: AbortSignal; timedOut(): boolean } {
  const controller = new AbortController();
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
    controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError'));
  }, ms);
  timer.unref();
  const stop = (): void => {
    clearTimeout(timer);
    controller.abort(signal.reason);
  };
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  return { signal: controller.signal, timedOut: () => fired && !signal.aborted };
}
