/**
 * Problem types (`urn:ingest:problem:…`) after which a new token is fetched and the batch sent again, once: every token
 * refusal a new token can cure (an expiry the browser's clock did not see, a token signed with a secret the project has
 * since retired, none at all) — not `session-token-too-long-lived`, which the same backend would mint again.
 */
const refreshableProblems = new Set(
  ['expired', 'missing', 'invalid', 'malformed'].map((reason) => `urn:ingest:problem:session-token-${reason}`),
);

/** Header the API reads the session write token from. */
export const tokenHeader = 'X-Ingest-Session-Token';

/** The expiry (ms since 1970) of a `v1.<expiry-unix-seconds>.<mac>` token; undefined when it cannot be read. */
export function tokenExpiryMs(token: string): number | undefined {
  const match = /^v1\.(\d{1,15})\.[A-Za-z0-9_-]{43}$/.exec(token);
  return match ? Number(match[1]) * 1000 : undefined;
}

/** Whether a refused post's problem type says that a new token could make it pass. */
export function isRefreshableRefusal(status: number, problemType: string | undefined): boolean {
  return status === 403 && problemType !== undefined && refreshableProblems.has(problemType);
}

/**
 * The session write token the sender attaches: the one given at start, replaced by `refresh()` when it is about to
 * expire or the API refused it. Concurrent callers share one refresh.
 */
export class SessionToken {
  private refreshing: Promise<string> | undefined;

  constructor(
    private current: string | undefined,
    private readonly refresh: (() => string | Promise<string>) | undefined,
    private readonly marginMs: number,
  ) {}

  /** The token as it is now, without refreshing (for page-hide sends, which cannot wait). */
  get now(): string | undefined {
    return this.current;
  }

  /** Whether a refused token can be replaced. */
  get canRefresh(): boolean {
    return this.refresh !== undefined;
  }

  /** A token fit to send: the current one unless it expires within the margin (or there is none) and a refresh is configured. */
  async get(now = Date.now()): Promise<string | undefined> {
    const expiry = this.current === undefined ? undefined : tokenExpiryMs(this.current);
    const fresh = this.current !== undefined && (expiry === undefined || expiry - now > this.marginMs);
    if (fresh || this.refresh === undefined) {
      return this.current;
    }
    return this.renew();
  }

  /** Forgets the current token (the API refused it), so the next `get` refreshes. */
  invalidate(): void {
    if (this.refresh !== undefined) {
      this.current = undefined;
    }
  }

  private renew(): Promise<string> {
    this.refreshing ??= (async () => {
      try {
        const token = await this.refresh!();
        if (typeof token !== 'string' || token === '') {
          throw new Error('refreshSessionToken returned no token');
        }
        this.current = token;
        return token;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}
