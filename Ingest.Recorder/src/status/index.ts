import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './status.css';

/**
 * The status page (`/status`): polls `/status/data` every second, seeds its charts from `/status/history` (the API's
 * last ten minutes of snapshots), and shows rates as moving averages over {@link SMOOTHING_SECONDS}. `document.body`'s
 * `data-loaded` ("true" once a snapshot is shown) and `data-samples` are what tests watch; each chart's figure names its
 * axes in `data-x-label` / `data-y-label`, the same strings uPlot draws.
 */
interface PartitionStatus { partition: number; end: number; committed: number | null; lag: number; oldestUnstoredAt: string | null }
interface StatusData {
  at: string | null; ageSeconds: number | null; topic: string; group: string; acceptedByThisApi: number | null;
  produced: number | null; committed: number | null; totalLag: number | null; deadLetters: number | null;
  partitions: PartitionStatus[]; lastError: string | null; lastErrorAt: string | null;
  oldestUnstoredAt: string | null; oldestUnstoredAgeSeconds: number | null;
}
interface StatusSample {
  at: string; acceptedByThisApi: number; produced: number; committed: number; totalLag: number; deadLetters: number;
  oldestUnstoredAgeSeconds: number | null; lags: Record<string, number>;
}
interface Point { t: number; produced: number; committed: number; lags: Record<string, number>; oldest: number | null; deadLetters: number }

const SMOOTHING_SECONDS = 10;
const WINDOW_SECONDS = 600;
const TIME_LABEL = 'time (this browser\'s clock)';
const RATE_LABEL = 'payloads/s';
const LAG_LABEL = 'messages';
const AGE_LABEL = 'seconds';
const DLQ_LABEL = 'dead letters (messages)';
const PALETTE = ['#1f6feb', '#bc4c00', '#8250df', '#1a7f37', '#cf222e', '#0598bc', '#9a6700', '#e85aad'];

const element = (id: string) => document.getElementById(id) as HTMLElement;
const text = (id: string, value: string) => (element(id).textContent = value);
const points: Point[] = [];
let lastAt = '';

function addPoint(point: Point) {
  const t = point.t;
  if (points.length && t <= points[points.length - 1].t) return;
  points.push(point);
  while (points.length && points[0].t < t - WINDOW_SECONDS) points.shift();
}

/** The rate of `key` at point i: its growth since the first point of the preceding smoothing window, per second. */
function rate(i: number, key: 'produced' | 'committed'): number | null {
  const now = points[i];
  let j = i;
  while (j > 0 && points[j - 1].t >= now.t - SMOOTHING_SECONDS) j--;
  if (j === i) return null; // a gap (nobody watched) or the first point
  return Math.max(0, (now[key] - points[j][key]) / (now.t - points[j].t));
}

function chartWidth(id: string) {
  return Math.max(320, element(id).clientWidth);
}

function axes(yLabel: string): uPlot.Axis[] {
  return [
    { label: TIME_LABEL, labelSize: 20, grid: { stroke: '#eaeef2' } },
    { label: yLabel, labelSize: 20, size: 60, grid: { stroke: '#eaeef2' } },
  ];
}

function describe(figure: string, yLabel: string) {
  const f = element(figure);
  f.dataset.xLabel = TIME_LABEL;
  f.dataset.yLabel = yLabel;
}

const positive = (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, Math.max(1, Math.ceil(max * 1.15))];

const rateChart = new uPlot({
  width: chartWidth('rates-chart'),
  height: 260,
  scales: { x: { time: true }, y: { range: positive } },
  axes: axes(RATE_LABEL),
  series: [
    {},
    { label: 'ingest (written to Kafka)', stroke: PALETTE[0], width: 2, value: (_u, v) => (v == null ? '–' : `${v.toFixed(1)}/s`) },
    { label: 'stored (committed by workers)', stroke: PALETTE[3], width: 2, value: (_u, v) => (v == null ? '–' : `${v.toFixed(1)}/s`) },
  ],
}, [[], [], []], element('rates-chart'));
describe('rates-figure', RATE_LABEL);
describe('lag-figure', LAG_LABEL);
describe('age-figure', AGE_LABEL);

const ageChart = new uPlot({
  width: chartWidth('age-chart'),
  height: 260,
  scales: { x: { time: true }, y: { range: positive }, dlq: { range: positive } },
  axes: [...axes(AGE_LABEL), { scale: 'dlq', side: 1, label: DLQ_LABEL, labelSize: 20, size: 60, grid: { show: false } }],
  series: [
    {},
    { label: 'oldest unstored payload\'s age', stroke: PALETTE[1], width: 2, value: (_u, v) => (v == null ? '–' : `${v.toFixed(1)} s`) },
    { label: 'dead letters', scale: 'dlq', stroke: PALETTE[4], width: 2, dash: [6, 4] },
  ],
}, [[], [], []], element('age-chart'));

let lagChart: uPlot | null = null;
let lagPartitions = '';

function lagChartFor(partitions: string[]): uPlot {
  const key = partitions.join(',');
  if (lagChart && key === lagPartitions) return lagChart;
  lagChart?.destroy();
  lagPartitions = key;
  lagChart = new uPlot({
    width: chartWidth('lag-chart'),
    height: 260,
    scales: { x: { time: true }, y: { range: positive } },
    axes: axes(LAG_LABEL),
    series: [{}, ...partitions.map((p, i) => ({ label: `partition ${p}`, stroke: PALETTE[i % PALETTE.length], width: 2 }))],
  }, [[], ...partitions.map(() => [])], element('lag-chart'));
  return lagChart;
}

function draw(partitions: string[]) {
  const xs = points.map(p => p.t);
  rateChart.setData([xs, points.map((_, i) => rate(i, 'produced')), points.map((_, i) => rate(i, 'committed'))]);
  lagChartFor(partitions).setData([xs, ...partitions.map(p => points.map(point => point.lags[p] ?? null))]);
  ageChart.setData([xs, points.map(p => p.oldest ?? 0), points.map(p => p.deadLetters)]);
  const last = points.length - 1;
  const ingest = last >= 0 ? rate(last, 'produced') : null;
  const store = last >= 0 ? rate(last, 'committed') : null;
  text('ingest-rate', ingest == null ? '–' : ingest.toFixed(1));
  text('store-rate', store == null ? '–' : store.toFixed(1));
  document.body.dataset.samples = String(points.length);
}

function age(seconds: number | null): string {
  if (seconds == null) return 'none';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.floor(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function cell(row: HTMLTableRowElement, value: string, className?: string) {
  const td = row.insertCell();
  td.textContent = value;
  if (className) td.className = className;
}

function show(s: StatusData) {
  text('topic', `topic ${s.topic} · group ${s.group}`);
  const error = element('error');
  error.hidden = !s.lastError;
  error.textContent = s.lastError
    ? `Kafka does not answer the status page: ${s.lastError}` + (s.at && s.ageSeconds != null ? ` (numbers ${s.ageSeconds.toFixed(0)} s old)` : '')
    : '';
  if (!s.at) return; // no snapshot yet: the API takes its first look now
  text('updated', `snapshot of ${new Date(s.at).toLocaleTimeString()}`);
  text('total-lag', String(s.totalLag ?? '–'));
  text('dlq-depth', String(s.deadLetters ?? '–'));
  text('accepted', String(s.acceptedByThisApi ?? '–'));
  const oldest = element('oldest-age');
  oldest.textContent = age(s.oldestUnstoredAgeSeconds);
  oldest.dataset.seconds = s.oldestUnstoredAgeSeconds == null ? '' : String(s.oldestUnstoredAgeSeconds);
  oldest.dataset.since = s.oldestUnstoredAt ?? '';
  element('tile-oldest').classList.toggle('warn', (s.oldestUnstoredAgeSeconds ?? 0) >= 30);
  element('tile-dlq').classList.toggle('warn', (s.deadLetters ?? 0) > 0);

  const body = element('partitions') as HTMLTableSectionElement;
  body.replaceChildren();
  for (const p of s.partitions) {
    const row = body.insertRow();
    row.dataset.partition = String(p.partition);
    cell(row, String(p.partition));
    cell(row, String(p.end), 'end');
    cell(row, p.committed == null ? '–' : String(p.committed), 'committed');
    cell(row, String(p.lag), 'lag');
    cell(row, p.oldestUnstoredAt ? age(Math.max(0, (Date.parse(s.at) - Date.parse(p.oldestUnstoredAt)) / 1000)) : 'none', 'oldest');
  }

  if (s.at !== lastAt && s.produced != null && s.committed != null) {
    lastAt = s.at;
    addPoint({
      t: Date.parse(s.at) / 1000, produced: s.produced, committed: s.committed, oldest: s.oldestUnstoredAgeSeconds,
      deadLetters: s.deadLetters ?? 0, lags: Object.fromEntries(s.partitions.map(p => [String(p.partition), p.lag])),
    });
  }
  draw(s.partitions.map(p => String(p.partition)));
  document.body.dataset.loaded = 'true';
}

async function seed() {
  try {
    const history = (await (await fetch('status/history', { cache: 'no-store' })).json()) as StatusSample[];
    for (const h of history) {
      addPoint({
        t: Date.parse(h.at) / 1000, produced: h.produced, committed: h.committed, oldest: h.oldestUnstoredAgeSeconds,
        deadLetters: h.deadLetters, lags: h.lags,
      });
    }
  } catch {
    // The chart then starts with this page's first poll.
  }
}

async function refresh() {
  try {
    show((await (await fetch('status/data', { cache: 'no-store' })).json()) as StatusData);
  } catch (e) {
    const error = element('error');
    error.hidden = false;
    error.textContent = `status unavailable: ${e}`;
  }
}

window.addEventListener('resize', () => {
  rateChart.setSize({ width: chartWidth('rates-chart'), height: 260 });
  lagChart?.setSize({ width: chartWidth('lag-chart'), height: 260 });
  ageChart.setSize({ width: chartWidth('age-chart'), height: 260 });
});

text('smoothing', String(SMOOTHING_SECONDS));
void seed().then(refresh).then(() => setInterval(refresh, 1000));
