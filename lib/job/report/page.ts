/**
 * report.html: one self-contained page (no network: uPlot's script and stylesheet, the page's
 * own script and every file's fragment are inlined) joined at Finalize from the fragments the
 * Assemble stage wrote (fragment.ts), piece by piece like output_metadata.json:
 *
 *   head (styles, controls) ‖ run JSON ‖ fragment₀ ‖ fragment₁ ‖ … ‖ uPlot ‖ page script
 *
 * each JSON in a `<script type="application/json">` element (the fragments escape `<`).
 */
import type { ByteSink, ByteSource } from '../../bytes.js';
import { InternalError } from '../../errors.js';
import { REPORT_NAME } from '../outputs.js';
import { hashingSink } from '../publish.js';
import type { JobStore, StoredObject } from '../store.js';
import { WORK } from '../store.js';
import { REPORT_CSS, REPORT_JS } from './client.js';
import { UPLOT_CSS, UPLOT_JS, UPLOT_LICENSE, UPLOT_VERSION } from './uplotAssets.generated.js';

const encoder = new TextEncoder();
/** Fragment bytes read at a time. */
const READ_BYTES = 4 * 1024 * 1024;

/**
 * What the page says about the run. Nothing that differs between two runs of the same job (no
 * run id, no time): like the other outputs, report.html is the same bytes locally and on AWS
 * but for the inputs' names.
 */
interface ReportRun {
  /** e.g. "oasis, p = 1". */
  method: string;
}

/** Text that can sit inside a `<script>` element as it is (`</script` cannot end it early). */
function scriptText(s: string): string {
  return s.replace(/<\/(script)/gi, '<\\/$1');
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);

function head(run: ReportRun): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="caiman-spikes (uPlot ${UPLOT_VERSION}, MIT)">
<title>caiman-spikes report · ${escapeHtml(run.method)}</title>
<style>${UPLOT_CSS.replace(/<\//g, '<\\/')}</style>
<style>${REPORT_CSS}</style>
</head>
<body>
<header><h1>caiman-spikes report</h1><p id="run-info"></p></header>
<section id="controls">
<input id="search" type="search" placeholder="search cell name" aria-label="search cell name">
<select id="status-filter" aria-label="filter by status">
<option value="">all cells</option>
<option value="accepted">accepted</option>
<option value="undecided">undecided</option>
<option value="rejected">rejected</option>
<option value="ok">deconvolved</option>
<option value="failed">failed</option>
<option value="skipped">skipped</option>
</select>
<button id="prev" type="button">◀ previous</button><span id="position"></span><button id="next" type="button">next ▶</button>
<button id="reset-zoom" type="button">reset zoom</button>
</section>
<section id="viewer">
<div id="plot-box"><div id="cell-title"></div><div id="cell-note"></div><div id="plot"></div></div>
<div id="side"><svg id="footprint" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet"></svg><table id="estimates"></table></div>
</section>
<section id="summary"><p id="summary-count"></p>
<table id="cells"><thead><tr></tr></thead><tbody></tbody></table></section>
<script type="application/json" id="caiman-run">${JSON.stringify(run).replaceAll('<', '\\u003c')}</script>
`;
}

function tail(): string {
  return `<!-- uPlot ${UPLOT_VERSION}:
${UPLOT_LICENSE.replaceAll('--', '- -')}-->
<script>${scriptText(UPLOT_JS)}</script>
<script>${scriptText(REPORT_JS)}</script>
</body>
</html>
`;
}

const FRAGMENT_OPEN = encoder.encode('<script type="application/json" class="caiman-fragment">');
const FRAGMENT_CLOSE = encoder.encode('</script>\n');

/** Writes report.html from the files' fragments (in file order), one fragment at a time. */
async function writeReport(
  run: ReportRun,
  /** Each fragment whole, or as its pieces in order. */
  fragments:
    | AsyncIterable<Uint8Array | AsyncIterable<Uint8Array>>
    | Iterable<Uint8Array | AsyncIterable<Uint8Array>>,
  to: ByteSink,
): Promise<void> {
  await to.write(encoder.encode(head(run)));
  for await (const fragment of fragments) {
    await to.write(FRAGMENT_OPEN);
    if (fragment instanceof Uint8Array) await to.write(fragment);
    else for await (const piece of fragment) await to.write(piece);
    await to.write(FRAGMENT_CLOSE);
  }
  await to.write(encoder.encode(tail()));
  await to.close();
}

/** Stages report.html from the fragments in the work area (WORK.report), as Finalize does. */
async function stageReport(
  store: JobStore,
  numFiles: number,
  run: ReportRun,
): Promise<StoredObject> {
  const missing = (key: string, cause?: unknown) =>
    new InternalError(`report fragment ${key} is missing`, 'MissingRecord', { cause });
  // A fragment is read READ_BYTES at a time: a file of many cells has one of many megabytes.
  async function* pieces(
    key: string,
    source: ByteSource,
    size: number,
  ): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < size; at += READ_BYTES) {
      const piece = await source.read(at, Math.min(READ_BYTES, size - at));
      if (piece.byteLength === 0) throw missing(key);
      yield piece;
    }
  }
  async function* fragments(): AsyncGenerator<AsyncIterable<Uint8Array>> {
    for (let file = 0; file < numFiles; file++) {
      const key = WORK.report(file);
      let source: ByteSource;
      let size: number;
      try {
        source = await store.workSource(key);
        size = await source.size();
      } catch (error) {
        throw missing(key, error);
      }
      yield pieces(key, source, size);
    }
  }
  const sink = hashingSink(REPORT_NAME, store.workSink(WORK.staged(REPORT_NAME)));
  try {
    await writeReport(run, fragments(), sink);
  } catch (error) {
    await sink.abort();
    throw error;
  }
  return sink.stored();
}

export type { ReportRun };
export { stageReport, writeReport };
