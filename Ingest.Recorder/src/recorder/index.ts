import { record } from '@rrweb/record';
import type { eventWithTime } from '@rrweb/types';
import { Sender } from './sender';
import { SessionToken } from './token';
import type { Batch, RecorderDrop, RecorderError, RecorderOptions, RecorderStats } from './types';

export type { RecorderDrop, RecorderError, RecorderOptions, RecorderStats } from './types';

/** What `start` returns. */
export interface RecorderHandle {
  /** Seals the events recorded so far into a batch and resolves once everything queued is accepted or dropped. */
  flush(): Promise<void>;
  /** Stops recording, then flushes. */
  stop(): Promise<void>;
  stats(): RecorderStats;
}

const sessionIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

/** Records this page with rrweb and streams it to Ingest as gzip-compressed JSON batches numbered by `seq`. */
export function start(options: RecorderOptions): RecorderHandle {
  if (!options?.endpoint || !options.apiKey || !sessionIdPattern.test(options.sessionId ?? '')) {
    throw new Error('IngestRecorder.start needs endpoint, apiKey and a sessionId matching ^[A-Za-z0-9_-]{1,128}$');
  }
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const flushIntervalMs = options.flushIntervalMs ?? 2000;
  const maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
  const maxBufferBytes = options.maxBufferBytes ?? 16 * 1024 * 1024;
  const onError = options.onError ?? ((e: RecorderError) => console.warn(`ingest-recorder: ${e.message}`));
  const onDrop = options.onDrop ?? ((d: RecorderDrop) => console.warn(`ingest-recorder: dropped ${d.events} events (${d.reason}), ${d.totalDroppedEvents} in all`));
  const seqKey = `ingest-recorder:${endpoint}:${options.sessionId}`;

  const stats: RecorderStats = {
    eventsRecorded: 0, bytesRecorded: 0, eventsSent: 0, batchesSent: 0, bytesSent: 0, retries: 0, lastRetryDelayMs: 0,
    lastStatus: 0, droppedEvents: 0, droppedBatches: 0, keepaliveFlushes: 0, queuedBatches: 0, inFlight: false,
    nextSeq: options.firstSeq ?? readSeq(seqKey),
  };
  let pending: string[] = [];
  let pendingBytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let snapshotAfterDrop = false;

  const sender = new Sender(
    {
      endpoint, sessionId: options.sessionId, apiKey: options.apiKey, onError,
      token: new SessionToken(options.sessionToken, options.refreshSessionToken, options.tokenRefreshMarginMs ?? 60_000),
      baseDelayMs: options.retryBaseDelayMs ?? 500, maxDelayMs: options.retryMaxDelayMs ?? 30_000,
      onDelivered: () => {
        // After a drop the replay has a hole; a new full snapshot once there is room again lets it continue.
        if (snapshotAfterDrop && sender.queuedBytes < maxBufferBytes / 2) {
          snapshotAfterDrop = false;
          record.takeFullSnapshot(true);
        }
      },
    },
    stats,
  );

  const drop = (reason: RecorderDrop['reason'], events: number, bytes: number) => {
    stats.droppedEvents += events;
    stats.droppedBatches++;
    snapshotAfterDrop = true;
    onDrop({ reason, events, bytes, totalDroppedEvents: stats.droppedEvents });
  };

  const seal = (): Batch | undefined => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) {
      return undefined;
    }
    const batch: Batch = { seq: stats.nextSeq, body: `{"v":1,"events":[${pending.join(',')}]}`, events: pending.length };
    pending = [];
    pendingBytes = 0;
    if (sender.queuedBytes + batch.body.length > maxBufferBytes) {
      drop('buffer-full', batch.events, batch.body.length);
      return undefined;
    }
    stats.nextSeq++;
    writeSeq(seqKey, stats.nextSeq);
    sender.enqueue(batch);
    return batch;
  };

  const emit = (event: eventWithTime) => {
    if (!stopRecording) {
      return; // rrweb's throttled listeners may still fire once after stop
    }
    const json = JSON.stringify(event);
    if (pending.length > 0 && pendingBytes + json.length > maxBatchBytes) {
      seal();
    }
    pending.push(json);
    pendingBytes += json.length + 1;
    stats.eventsRecorded++;
    stats.bytesRecorded += json.length;
    if (pendingBytes >= maxBatchBytes) {
      seal();
    } else {
      timer ??= setTimeout(seal, flushIntervalMs);
    }
  };

  const onVisibility = () => {
    if (document.visibilityState === 'hidden') {
      seal(); // the tab may live on (switched away): a normal, compressed send
    }
  };
  const onPageHide = () => {
    // The document may be discarded before any promise settles: send synchronously, keepalive, uncompressed.
    seal();
    for (const left of sender.sendOnHide()) {
      drop('page-hide', left.events, left.body.length);
    }
  };
  const onOnline = () => sender.retryNow();
  document.addEventListener('visibilitychange', onVisibility);
  window.addEventListener('pagehide', onPageHide);
  window.addEventListener('online', onOnline);

  let stopRecording: (() => void) | undefined = () => undefined; // set below; undefined once stopped
  stopRecording = record<eventWithTime>({ ...privateByDefault(options.recordOptions), emit });

  return {
    flush: () => {
      seal();
      return sender.idle();
    },
    stop: () => {
      stopRecording?.();
      stopRecording = undefined;
      document.removeEventListener('visibilitychange', onVisibility);
      window.removeEventListener('pagehide', onPageHide);
      window.removeEventListener('online', onOnline);
      seal();
      return sender.idle();
    },
    stats: () => ({ ...stats }),
  };
}

/**
 * rrweb masks only password inputs by default, so typed emails, addresses and card numbers would be stored and replayed.
 * The recorder masks every input instead, unless the site chose its own input masking (`maskAllInputs` or
 * `maskInputOptions`, which rrweb ignores while `maskAllInputs` is true).
 */
export function privateByDefault(recordOptions: RecorderOptions['recordOptions']): NonNullable<RecorderOptions['recordOptions']> {
  const chosen = recordOptions !== undefined && (recordOptions.maskAllInputs !== undefined || recordOptions.maskInputOptions !== undefined);
  return chosen ? { ...recordOptions } : { ...recordOptions, maskAllInputs: true };
}

function readSeq(key: string): number {
  try {
    const value = Number(sessionStorage.getItem(key));
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  } catch {
    return 0; // storage disabled
  }
}

function writeSeq(key: string, next: number): void {
  try {
    sessionStorage.setItem(key, String(next));
  } catch {
    // storage disabled or full: a reload of this session then starts at seq 0 again
  }
}
