// Builds the recorder, the replay page's player and the status page's script (with uPlot) into dist/ (one minified
// file each, plus the CSS they import), for Ingest.Api to embed.
import { build } from 'esbuild';

const common = { bundle: true, minify: true, format: 'iife', target: ['es2020'], legalComments: 'none', logLevel: 'warning' };
await Promise.all([
  build({ ...common, entryPoints: ['src/recorder/index.ts'], globalName: 'IngestRecorder', outfile: 'dist/ingest-recorder.js' }),
  build({ ...common, entryPoints: ['src/replay/index.ts'], outfile: 'dist/ingest-replay.js' }),
  build({ ...common, entryPoints: ['src/status/index.ts'], outfile: 'dist/ingest-status.js' }),
]);
