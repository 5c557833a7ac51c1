import { type BackoffOptions, parseRetryAfter, retryDelayMs } from './backoff';
import { isRefreshableRefusal, type SessionToken, tokenHeader } from './token';
import { type Batch, type RecorderError, type RecorderStats, keepaliveLimitBytes } from './types';

const encoder = new TextEncoder();

/** Settings the sender needs from the recorder's options. */
export interface SenderSettings extends BackoffOptions {
  endpoint: string;
  sessionId: string;
  apiKey: string;
  token: SessionToken;
  onError: (error: RecorderError) => void;
  onDelivered: (batch: Batch) => void;
}

type Outcome = 'delivered' | 'dropped';

/**
 * Sends sealed batches strictly one after another (the API stores a session's payloads in the order it accepts
 * them), gzip-compressed in the browser, retrying 429/503/5xx/network failures and dropping other 4xx.
 */
export class Sender {
  private readonly queue: Batch[] = [];
  private pumping = false;
  private wake: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];
  private inFlightKeepaliveBytes = 0;

  constructor(
    private readonly settings: SenderSettings,
    readonly stats: RecorderStats,
  ) {}

  /** Bytes (uncompressed JSON) waiting to be sent, including the batch in flight. */
  get queuedBytes(): number {
    return this.queue.reduce((sum, b) => sum + b.body.length, 0);
  }

  enqueue(batch: Batch): void {
    this.queue.push(batch);
    this.stats.queuedBatches = this.queue.length;
    void this.pump();
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    return this.queue.length === 0 && !this.pumping ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Ends a retry wait early (the browser says it is back online). */
  retryNow(): void {
    this.wake?.();
  }

  /**
   * Page hide: the document may be gone before any promise settles, so no compression and no waiting. Queued batches
   * not yet on the wire go now, uncompressed, with `keepalive` (which outlives the page), as long as their total stays
   * under the browser's 64 KiB keepalive quota. Returns (and forgets) the batches that did not fit.
   */
  sendOnHide(): Batch[] {
    let budget = keepaliveLimitBytes - (this.stats.inFlight ? this.inFlightKeepaliveBytes : 0);
    const firstUnsent = this.stats.inFlight ? 1 : 0;
    const leftOver: Batch[] = [];
    for (const batch of this.queue.splice(firstUnsent)) {
      const body = encoder.encode(batch.body);
      if (body.byteLength > budget) {
        leftOver.push(batch);
        continue;
      }
      budget -= body.byteLength;
      this.stats.keepaliveFlushes++;
      // If the page survives (back/forward cache) the outcome is still counted.
      void this.post(batch, body, false, true, this.settings.token.now).then(
        (response) => this.settle(batch, response, 0, false),
        () => this.settle(batch, undefined, 0, false),
      );
    }
    this.stats.queuedBatches = this.queue.length;
    return leftOver; // the caller counts them as dropped: nothing reliable can carry them any more
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      return;
    }
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue[0];
        await this.deliver(batch);
        if (this.queue[0] === batch) {
          this.queue.shift();
        }
        this.stats.queuedBatches = this.queue.length;
      }
    } finally {
      this.pumping = false;
      for (const resolve of this.idleWaiters.splice(0)) {
        resolve();
      }
    }
  }

  private async deliver(batch: Batch): Promise<Outcome | 'handed-off'> {
    for (let attempt = 0; ; attempt++) {
      if (batch.gzip === undefined) {
        batch.gzip = await gzip(batch.body);
      }
      const body = batch.gzip ?? encoder.encode(batch.body);
      if (this.queue[0] !== batch) {
        return 'handed-off'; // sent by sendOnHide while it was being compressed
      }
      let token: string | undefined;
      try {
        token = await this.settings.token.get();
      } catch (e) {
        // The site's backend could not give a token now: wait and try again, like a network error.
        this.settings.onError({ kind: 'token', seq: batch.seq, status: 0, message: `seq ${batch.seq}: refreshSessionToken failed (${e}), retrying` });
        await this.pause(attempt, undefined);
        continue;
      }
      if (this.queue[0] !== batch) {
        return 'handed-off';
      }
      let response: Response | undefined;
      const keepalive = body.byteLength <= keepaliveLimitBytes;
      this.stats.inFlight = true;
      this.inFlightKeepaliveBytes = keepalive ? body.byteLength : 0;
      try {
        response = await this.post(batch, body, batch.gzip !== null, keepalive, token);
      } catch {
        response = undefined; // network error, CORS refusal or the page going offline
      } finally {
        this.stats.inFlight = false;
      }
      const outcome = await this.settle(batch, response, attempt);
      if (outcome === 'new-token') {
        attempt--; // not a failure of the API: the same attempt again with a new token, at once
        continue;
      }
      if (outcome !== 'retry') {
        return response?.ok ? 'delivered' : 'dropped';
      }
      await this.pause(attempt, response);
    }
  }

  /** Waits before retry number `attempt` (exponential with jitter, at least Retry-After), or until `retryNow`. */
  private async pause(attempt: number, response: Response | undefined): Promise<void> {
    this.stats.retries++;
    const delay = retryDelayMs(attempt, parseRetryAfter(response?.headers.get('Retry-After') ?? null), this.settings);
    this.stats.lastRetryDelayMs = Math.round(delay);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private post(batch: Batch, body: Uint8Array, gzipped: boolean, keepalive: boolean, token: string | undefined): Promise<Response> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.settings.apiKey}`,
      'Content-Type': 'application/json',
    };
    if (token !== undefined) {
      headers[tokenHeader] = token;
    }
    if (gzipped) {
      headers['Content-Encoding'] = 'gzip';
    }
    const url = `${this.settings.endpoint}/v1/sessions/${encodeURIComponent(this.settings.sessionId)}/payloads?seq=${batch.seq}`;
    return fetch(url, { method: 'POST', headers, body: body as BodyInit, keepalive, mode: 'cors', credentials: 'omit' });
  }

  /**
   * Counts the outcome of one attempt; 'retry' for 408/429/5xx and network errors (a retry of the same seq is always safe),
   * 'new-token' once per batch for a 403 that a new session write token can cure.
   */
  private async settle(batch: Batch, response: Response | undefined, attempt: number, canResend = true): Promise<'done' | 'retry' | 'new-token'> {
    this.stats.lastStatus = response?.status ?? 0;
    if (response?.ok) {
      this.stats.batchesSent++;
      this.stats.eventsSent += batch.events;
      this.stats.bytesSent += batch.gzip?.byteLength ?? encoder.encode(batch.body).byteLength;
      this.settings.onDelivered(batch);
      return 'done';
    }
    const status = response?.status ?? 0;
    if (response === undefined || status === 408 || status === 429 || status >= 500) {
      if (attempt === 0) {
        this.settings.onError({ kind: 'retrying', seq: batch.seq, status, message: `seq ${batch.seq}: ${status || 'network error'}, retrying` });
      }
      return 'retry';
    }
    const detail = await response.text().catch(() => '');
    if (isRefreshableRefusal(status, problemType(detail)) && canResend && this.settings.token.canRefresh && !batch.tokenRefreshed) {
      batch.tokenRefreshed = true;
      this.settings.token.invalidate();
      this.settings.onError({ kind: 'token', seq: batch.seq, status, message: `seq ${batch.seq}: token refused (${status}), fetching a new one: ${detail}` });
      return 'new-token';
    }
    this.stats.droppedBatches++;
    this.stats.droppedEvents += batch.events;
    this.settings.onError({ kind: 'refused', seq: batch.seq, status, message: `seq ${batch.seq} refused (${status}), dropped: ${detail}` });
    return 'done';
  }
}

/** The `type` of a problem+json body, if it is one. */
function problemType(body: string): string | undefined {
  try {
    const type = (JSON.parse(body) as { type?: unknown }).type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}

/** gzip in the browser (CompressionStream); null where the browser has none, and the batch then goes uncompressed. */
async function gzip(text: string): Promise<Uint8Array | null> {
  if (typeof CompressionStream === 'undefined') {
    return null;
  }
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
