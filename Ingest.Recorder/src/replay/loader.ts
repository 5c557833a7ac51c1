import type { eventWithTime } from '@rrweb/types';

/** An answer of the read API that the page shows instead of a player. */
export class ReadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface PayloadItem {
  seq: number;
}

interface PayloadPage {
  items: PayloadItem[];
  next: string | null;
}

/** Payloads fetched at once while the page plays the earlier ones. */
const parallelFetches = 4;

/**
 * Reads a session through the read API page by page, in stored order, and hands each payload's events to
 * `onEvents` in that order as soon as it and every earlier payload are in.
 */
export async function loadSession(
  sessionId: string,
  key: string,
  pageSize: number,
  onEvents: (events: eventWithTime[], loadedPayloads: number) => void,
): Promise<number> {
  const base = `/v1/sessions/${encodeURIComponent(sessionId)}`;
  const get = async (path: string): Promise<Response> => {
    const response = await fetch(base + path, { headers: { Authorization: `Bearer ${key}` }, cache: 'no-store' });
    if (!response.ok) {
      throw new ReadError(response.status, await describe(response, sessionId));
    }
    return response;
  };

  let loaded = 0;
  let cursor: string | null = null;
  do {
    const query: string = `/payloads?limit=${pageSize}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
    const page = (await (await get(query)).json()) as PayloadPage;
    // Fetch ahead in parallel, deliver strictly in order.
    const bodies = page.items.map(() => undefined as Promise<eventWithTime[]> | undefined);
    const fetchOne = (i: number) => (bodies[i] ??= get(`/payloads/${page.items[i].seq}`).then((r) => r.text()).then((t) => decode(t, page.items[i].seq)));
    for (let i = 0; i < page.items.length; i++) {
      for (let ahead = i; ahead < Math.min(page.items.length, i + parallelFetches); ahead++) {
        void fetchOne(ahead).catch(() => undefined); // the in-order await below reports the failure
      }
      const events = await fetchOne(i);
      loaded++;
      onEvents(events, loaded);
    }
    cursor = page.next;
  } while (cursor);
  return loaded;
}

/** A payload is the recorder's `{"v":1,"events":[…]}`; a bare array of rrweb events is taken too. */
export function decode(text: string, seq: number): eventWithTime[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ReadError(0, `Payload seq ${seq} is not JSON, so not something the recorder sent.`);
  }
  const events = Array.isArray(parsed) ? parsed : (parsed as { events?: unknown })?.events;
  if (!Array.isArray(events) || !events.every((e) => typeof e?.type === 'number' && typeof e?.timestamp === 'number')) {
    throw new ReadError(0, `Payload seq ${seq} holds no rrweb events.`);
  }
  return events as eventWithTime[];
}

async function describe(response: Response, sessionId: string): Promise<string> {
  let detail = '';
  try {
    detail = ((await response.json()) as { detail?: string }).detail ?? '';
  } catch {
    // not problem+json
  }
  switch (response.status) {
    case 401:
      return `The key was not accepted (401). Use a key of this project with the read scope. ${detail}`;
    case 403:
      return `This key may not read sessions (403): it needs the read scope. ${detail}`;
    case 404:
      return `No session '${sessionId}' in this key's project, or nothing of it stored yet (404). ${detail}`;
    default:
      return `The API answered ${response.status}. ${detail}`;
  }
}
