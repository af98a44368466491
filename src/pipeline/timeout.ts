/**
 * A signal that aborts with the caller's, or when ms have passed; timedOut
 * tells the two apart, so the error can name the limit that was reached.
 */
export function withTimeout(signal: AbortSignal, ms: number): { signal: AbortSignal; timedOut(): boolean } {
  const timer = AbortSignal.timeout(ms);
  return { signal: AbortSignal.any([signal, timer]), timedOut: () => timer.aborted && !signal.aborted };
}
