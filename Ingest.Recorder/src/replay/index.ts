import { Replayer } from '@rrweb/replay';
import '@rrweb/replay/dist/style.css';
import type { eventWithTime } from '@rrweb/types';
import { ReadError, loadSession } from './loader';

/**
 * The replay page (`/replay/{sessionId}`): takes a read key from the URL fragment (`#key=…`, never sent to a server
 * nor logged) or a prompt, loads the session progressively (`#pageSize=` payloads per list page, default 50; `#speed=`) and plays it with rrweb's Replayer. `document.body`'s
 * `data-state` (loading, playing, finished, error) and the counters beside it are what tests and people watch.
 */
const body = document.body;
const element = (id: string) => document.getElementById(id) as HTMLElement;
const setState = (state: string) => (body.dataset.state = state);

function readParameters(): { sessionId: string; key: string | null; speed: number; pageSize: number } {
  const sessionId = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
  const fragment = new URLSearchParams(location.hash.slice(1));
  let key = fragment.get('key');
  if (key) {
    sessionStorage.setItem('ingest-replay-key', key);
    fragment.delete('key');
    history.replaceState(null, '', location.pathname + location.search + (fragment.size ? `#${fragment}` : ''));
  } else {
    key = sessionStorage.getItem('ingest-replay-key') ?? prompt('Read key (scope "read") for this project');
  }
  const speed = Number(fragment.get('speed') ?? '1');
  const pageSize = Number(fragment.get('pageSize') ?? '50');
  return {
    sessionId,
    key,
    speed: Number.isFinite(speed) && speed > 0 ? speed : 1,
    pageSize: Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= 1000 ? pageSize : 50,
  };
}

function showError(message: string): void {
  setState('error');
  const error = element('error');
  error.textContent = message;
  error.hidden = false;
}

async function main(): Promise<void> {
  const { sessionId, key, speed, pageSize } = readParameters();
  element('session').textContent = sessionId;
  if (!key) {
    showError('No read key: open this page as /replay/{sessionId}#key=… or answer the prompt.');
    return;
  }

  setState('loading');
  let replayer: Replayer | undefined;
  let early: eventWithTime[] = [];
  let allLoaded = false;
  let endedEarly = false;
  let eventCount = 0;

  const start = (events: eventWithTime[]) => {
    replayer = new Replayer(events, { root: element('player'), speed, showWarning: true, mouseTail: false });
    replayer.on('finish', () => {
      if (allLoaded) {
        setState('finished');
      } else {
        endedEarly = true; // caught up with what has loaded: carry on when more arrives
      }
    });
    replayer.play();
    setState('playing');
    const tick = () => {
      if (!replayer) return;
      const total = replayer.getMetaData().totalTime;
      element('time').textContent = `${(Math.min(replayer.getCurrentTime(), total) / 1000).toFixed(1)} / ${(total / 1000).toFixed(1)} s`;
      requestAnimationFrame(tick);
    };
    tick();
  };

  const onEvents = (events: eventWithTime[], payloads: number) => {
    eventCount += events.length;
    body.dataset.payloads = String(payloads);
    body.dataset.events = String(eventCount);
    element('loaded').textContent = `${payloads} payloads, ${eventCount} events loaded`;
    if (!replayer) {
      early.push(...events);
      // rrweb needs a full snapshot (type 2) and at least two events to build the first frame.
      if (early.length >= 2 && early.some((e) => e.type === 2)) {
        body.dataset.startedAtPayload = String(payloads); // progressive: playing before the rest is loaded
        start(early);
        early = [];
      }
      return;
    }
    for (const event of events) {
      replayer.addEvent(event);
    }
    if (endedEarly) {
      endedEarly = false;
      replayer.play(replayer.getCurrentTime());
    }
  };

  element('toggle').addEventListener('click', () => {
    if (!replayer) return;
    if (body.dataset.state === 'playing') {
      replayer.pause();
      setState('paused');
    } else {
      const at = body.dataset.state === 'finished' ? 0 : replayer.getCurrentTime();
      setState('playing');
      replayer.play(at);
    }
  });

  try {
    await loadSession(sessionId, key, pageSize, onEvents);
    allLoaded = true;
    element('loaded').textContent += ' (all)';
    if (!replayer) {
      showError(`Session '${sessionId}' has no full snapshot (rrweb event type 2) to start a replay from.`);
    } else if (endedEarly) {
      setState('finished');
    }
  } catch (error) {
    replayer?.pause();
    showError(error instanceof ReadError ? error.message : `Loading failed: ${String(error)}`);
  }

}

void main();
