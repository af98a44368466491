/** One app's entry in the router: the host names it answers and where its traffic goes. */
export interface Route {
  app: string;
  hosts: string[];
  /** host:port of each web instance; none means the app is stopped or has no web process. */
  upstreams: string[];
  /** The app's requests are held (ps:pause, a single-writer handover): they go to this hold, which keeps them waiting. */
  heldBy?: Hold;
  /**
   * Holds of the app being released: the router answers on their release
   * sockets too, so that the requests each kept reach the app's upstreams.
   */
  releasing?: Hold[];
  /** maintenance:on: 503 with Retry-After for every request but those under these paths. */
  maintenance?: { message: string; allowPaths: string[] };
  /** Custom certificates (certs:add): served for their names instead of automatic ones. */
  certificates?: { chain: string; key: string }[];
}

/** A certificate the router got by itself (ACME) for a host. */
export interface ManagedCertificate {
  issuer: string;
  notAfter: string;
}

/** The router's latest failure to get a certificate for a host, in the CA's or its own words. */
export interface IssuanceFailure {
  host: string;
  at: string;
  error: string;
  /** The challenges the CA refused in that attempt, when it refused any. */
  challenges?: ChallengeFailure[];
}

/** A challenge the CA refused: its type (http-01, …), and the CA's problem type and detail. */
export interface ChallengeFailure {
  type: string;
  problem: string;
  detail: string;
}

/**
 * A place where an app's requests wait, outside the router: requests sent to
 * `socket` wait (retried, whatever their method) until something answers on
 * `release`. A slot of the holds' one process, whose config never changes,
 * so the router's reloads for other apps cannot end the wait.
 */
export interface Hold {
  id: string;
  socket: string;
  release: string;
  pid: number;
}

/** What a new hold is for, and the holds taken already (by id), which it may not reuse. */
export interface HoldRequest {
  reason: 'pause' | 'handover' | 'restore';
  taken: ReadonlySet<string>;
  /** How many holds it must leave free for others (deploys' handovers keep some that pauses cannot take). */
  keepFree: number;
}

/** The router seam: apply replaces the whole routing at once, or changes nothing and throws. */
export interface Router {
  apply(routes: readonly Route[]): Promise<void>;
  /** Whether the router has Skiff's routing loaded (false after it restarted empty). */
  isConfigured(): Promise<boolean>;
  /** A free hold for the app's requests, ready to take them; a ConflictError when none is free. */
  startHold(app: string, request: HoldRequest): Promise<Hold>;
  /** Whether the hold's process still runs (when it does not, the requests it took went with it). */
  holdAlive(hold: Hold): boolean;
  /** How many requests the router has on their way to these upstreams (host:port) now, waiting for their answers. */
  requestsInFlight(upstreams: readonly string[]): Promise<number>;
  /** Of these holds, the ones with no request left in them: a released one of those is free again. */
  holdsDrained(holds: readonly Hold[]): Promise<Hold[]>;
  /**
   * Makes the router begin getting (or renewing) a host's certificate, if it
   * may. Resolves within seconds: true when the router answered the handshake
   * by then (the attempt is over), false when it was still at work.
   */
  requestCertificate(host: string): Promise<boolean>;
  /** The certificate the router got by itself for a host, if it has one. */
  managedCertificate(host: string): ManagedCertificate | null;
  /** The latest failure to get a certificate for each host that had one, oldest first. */
  issuanceFailures(): IssuanceFailure[];
}
