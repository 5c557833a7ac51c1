import type { recordOptions } from 'rrweb';
import type { eventWithTime } from '@rrweb/types';

/** Browsers refuse keepalive requests once the bodies of those in flight exceed 64 KiB (Fetch spec); a margin for headers. */
export const keepaliveLimitBytes = 60 * 1024;

/** What `IngestRecorder.start` takes. Only endpoint, sessionId and apiKey are required. */
export interface RecorderOptions {
  /** Base URL of the Ingest API, e.g. `https://ingest.example.com` (no trailing slash needed). */
  endpoint: string;
  /** The session's id: `^[A-Za-z0-9_-]{1,128}$`. */
  sessionId: string;
  /** A key with the `ingest` scope only: it is visible to anyone who can read the page. */
  apiKey: string;
  /** A batch is sealed this long after its first event (default 2000 ms). */
  flushIntervalMs?: number;
  /** …or when its JSON reaches this size, in UTF-16 units ≈ bytes (default 512 KiB). */
  maxBatchBytes?: number;
  /** Uncompressed JSON kept while the API cannot take it; beyond it new batches are dropped (default 16 MiB). */
  maxBufferBytes?: number;
  /** Upper bound of the first retry delay (default 500 ms); it doubles per attempt. */
  retryBaseDelayMs?: number;
  /** Ceiling of the exponential retry delay (default 30 000 ms); a longer Retry-After still wins. */
  retryMaxDelayMs?: number;
  /** seq of the first batch. Default: where this tab's earlier page of the same session stopped, else 0. */
  firstSeq?: number;
  /**
   * Passed to rrweb's `record` (masking, blocking, sampling, …); `emit` is the recorder's own. Unless it sets
   * `maskAllInputs` or `maskInputOptions` itself, every input's value is masked (`maskAllInputs: true`: each character
   * becomes `*`, so only the length is kept). Page text is recorded as is: mask it with `maskTextSelector` (or the
   * `rr-mask` class), leave elements out with `blockSelector` (or `rr-block`).
   */
  recordOptions?: Omit<recordOptions<eventWithTime>, 'emit'>;
  /**
   * A session write token for this session, minted by the site's backend (`v1.<expiry>.<mac>`), for projects that
   * require one (`Ingest:Projects:{p}:WriteTokens:Required`). Sent in the `X-Ingest-Session-Token` header.
   */
  sessionToken?: string;
  /**
   * Returns a new token for this session (e.g. fetched from the site's backend). Called before a post when the current
   * token expires within `tokenRefreshMarginMs` (or there is none), and once more for a batch the API refused for its
   * token (`session-token-expired`, `-invalid`, `-missing`, `-malformed`). A refresh that throws is retried like a
   * network error.
   */
  refreshSessionToken?: () => string | Promise<string>;
  /** How long before its expiry a token is refreshed (default 60 000 ms). */
  tokenRefreshMarginMs?: number;
  /** Refusals and retries; the default logs them with console.warn. */
  onError?: (error: RecorderError) => void;
  /** Batches dropped because the buffer was full or a page hide left no room for them. */
  onDrop?: (drop: RecorderDrop) => void;
}

export interface RecorderError {
  /**
   * 'refused': a 4xx other than 408/429 — the batch is dropped. 'retrying': first failure of a batch that is retried.
   * 'token': `refreshSessionToken` failed (the batch is retried) or the API refused a token (a new one is fetched once).
   */
  kind: 'refused' | 'retrying' | 'token';
  seq: number;
  /** HTTP status, 0 for a network error. */
  status: number;
  message: string;
}

export interface RecorderDrop {
  reason: 'buffer-full' | 'page-hide';
  events: number;
  bytes: number;
  /** Events dropped since start, this one included. */
  totalDroppedEvents: number;
}

/** Counters since start (`handle.stats()`). */
export interface RecorderStats {
  eventsRecorded: number;
  /** JSON bytes of the recorded events (before compression). */
  bytesRecorded: number;
  eventsSent: number;
  batchesSent: number;
  /** Bytes on the wire of accepted batches (compressed). */
  bytesSent: number;
  retries: number;
  lastRetryDelayMs: number;
  lastStatus: number;
  droppedEvents: number;
  droppedBatches: number;
  keepaliveFlushes: number;
  queuedBatches: number;
  inFlight: boolean;
  nextSeq: number;
}

/** A sealed batch: one payload, `{"v":1,"events":[…]}`. */
export interface Batch {
  seq: number;
  body: string;
  events: number;
  /** Compressed body once computed; null when the browser cannot gzip. */
  gzip?: Uint8Array | null;
  /** The API refused it for its token and a new token was fetched: a second such refusal drops it. */
  tokenRefreshed?: boolean;
}
