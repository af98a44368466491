/** One app's entry in the router: the host names it answers and where its traffic goes. */
export interface Route {
  app: string;
  hosts: string[];
  /** host:port of each web instance; none means the app is stopped or has no web process. */
  upstreams: string[];
  /**
   * Seconds requests are held while the upstreams are not there yet (a
   * single-writer handover): they wait and are retried, whatever their
   * method, instead of failing. Without, a refused dial is retried for 5 s.
   */
  holdSeconds?: number;
  /** maintenance:on: 503 with Retry-After for every request but those under these paths. */
  maintenance?: { message: string; allowPaths: string[] };
}

/** The router seam: apply replaces the whole routing at once, or changes nothing and throws. */
export interface Router {
  apply(routes: readonly Route[]): Promise<void>;
  /** Whether the router has Skiff's routing loaded (false after it restarted empty). */
  isConfigured(): Promise<boolean>;
}
