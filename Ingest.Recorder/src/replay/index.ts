import { Replayer } from '@rrweb/replay';
import '@rrweb/replay/dist/style.css';
import type { eventWithTime } from '@rrweb/types';
import { ReadError, loadSession } from './loader';

/**
 * The replay page (`/replay/{sessionId}`): takes a read key from the URL fragment (`#key=…`, never sent to a server
 * nor logged) or a prompt, loads the session progressively (`#pageSize=` payloads per list page, default 50; `#speed=`) and plays it with rrweb's Replayer. `document.body`'s
 * `data-state` (loading, playing, waiting: played all that is loaded so far, paused, finished, error) and the counters
 * beside it are what tests and people watch.
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
  let eventCount = 0;
  // Where the player stopped after playing every loaded event while more was still to load (rrweb's 'finish' came
  // early), and how many events that was; null once it goes on.
  let caughtUp = null as { at: number; events: number } | null; // `as`: set in callbacks, so not narrowed to null

  // rrweb's Replayer.play(offset) rebuilds the page at `offset`: it applies every event before it synchronously (into
  // its virtual DOM, then one diff into the page) and schedules the rest. Two things must hold, or the page stops
  // changing while the player plays on to "finished" (seen: the replayed input frozen half typed). The offset must not
  // lie past the last loaded event, as getCurrentTime() does after a finish (by up to a frame times the speed): an
  // event added later but older than the offset is applied synchronously on its own, which switches rrweb to its
  // virtual DOM with no diff to follow. And the events just passed to addEvent must be in the player: addEvent hands
  // them over on a microtask, so play() called right after it rebuilds without them.
  const seek = (offset: number) => {
    const player = replayer;
    if (!player) return;
    const at = Math.max(0, Math.min(offset, player.getMetaData().totalTime));
    queueMicrotask(() => player.play(at)); // after the microtasks of the addEvent calls made before this one
  };

  const start = (events: eventWithTime[]) => {
    const player = new Replayer(events, { root: element('player'), speed, showWarning: true, mouseTail: false });
    replayer = player;
    player.on('finish', () => {
      if (allLoaded) {
        setState('finished');
        return;
      }
      // Played everything loaded so far (rrweb ends here): wait, and go on from exactly this event when more arrives.
      caughtUp = { at: player.getMetaData().totalTime, events: eventCount };
      if (body.dataset.state === 'playing') setState('waiting');
    });
    player.play();
    setState('playing');
    const tick = () => {
      const total = player.getMetaData().totalTime;
      const now = caughtUp?.at ?? player.getCurrentTime();
      element('time').textContent = `${(Math.min(now, total) / 1000).toFixed(1)} / ${(total / 1000).toFixed(1)} s`;
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
    if (events.length === 0) return;
    // Where the running playback started: rrweb applies an added event older than that at once, out of turn.
    const baseline = replayer.getMetaData().startTime + replayer.getTimeOffset();
    for (const event of events) {
      replayer.addEvent(event);
    }
    if (body.dataset.state === 'waiting' && caughtUp) {
      setState('playing');
      seek(caughtUp.at);
      caughtUp = null;
    } else if (body.dataset.state === 'playing' && events.some((e) => e.timestamp < baseline)) {
      seek(replayer.getCurrentTime()); // older than where playback started (clocks differ?): rebuild with them in
    }
  };

  element('toggle').addEventListener('click', () => {
    if (!replayer) return;
    const state = body.dataset.state;
    if (state === 'playing' || state === 'waiting') {
      replayer.pause();
      setState('paused');
    } else {
      const at = state === 'finished' ? 0 : (caughtUp?.at ?? replayer.getCurrentTime());
      caughtUp = null;
      setState('playing');
      seek(at);
    }
  });

  try {
    await loadSession(sessionId, key, pageSize, onEvents);
    allLoaded = true;
    element('loaded').textContent += ' (all)';
    if (!replayer) {
      showError(`Session '${sessionId}' has no full snapshot (rrweb event type 2) to start a replay from.`);
    } else if (caughtUp?.events === eventCount) {
      setState('finished'); // it had played everything, nothing came after (not even while the viewer paused it)
    }
  } catch (error) {
    replayer?.pause();
    showError(error instanceof ReadError ? error.message : `Loading failed: ${String(error)}`);
  }

}

void main();
