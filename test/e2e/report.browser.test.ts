/**
 * report.html in a real browser: Debian's chromium (/usr/bin/chromium) driven by playwright-core
 * (no browser download). The job runs on a 1 000-cell synthetic set (and on the sample series of
 * ../shared); the page is opened via file://. Without chromium the suite skips with a message,
 * under CI=true it fails (.ci/run installs chromium).
 *
 * Load time and file size are printed, not asserted.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.js';
import { memorySink } from '../../lib/bytes.js';
import { createCellSetWriter } from '../../lib/isxd/index.js';
import type { CellStatus } from '../../lib/isxd/types.js';
import { REPORT_NAME } from '../../lib/job/outputs.js';
import { mulberry32 } from '../../lib/random.js';
import { sharedAvailable, sharedPath } from '../helpers/shared.js';

const CHROMIUM = '/usr/bin/chromium';

/** `describe` for suites that need chromium: skipped with a message locally, failing under CI. */
function describeBrowser(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) describe(name, body);
  else if (process.env.CI) {
    describe(name, () => {
      it('needs chromium, which .ci/run installs', () => {
        throw new Error(`${CHROMIUM} not found; CI must install it (apt-get install chromium)`);
      });
    });
  } else {
    console.warn(`skipped suite "${name}": ${CHROMIUM} not found (apt-get install chromium)`);
    describe(name, () => {
      it.skip(`skipped: ${CHROMIUM} not found (apt-get install chromium)`, () => {});
    });
  }
}

const NUM_CELLS = 1000;
/** Above the report's 2 000 display points, so the min/max envelope is what is drawn. */
const NUM_TIMES = 2400;
const SIZE = 64;
const name = (i: number) => `cell-${String(i).padStart(4, '0')}`;
const statusOf = (i: number): CellStatus =>
  i % 10 === 3 ? 'rejected' : i % 10 === 7 ? 'undecided' : 'accepted';
/** Its trace is all NaN: it cannot be deconvolved (outcome failed). */
const NAN_CELL = 5;

/** A seeded cell set: Gaussian footprints, AR(1) calcium c_t = 0.95·c_{t−1} + s_t plus noise. */
async function syntheticInput(): Promise<Uint8Array> {
  const rand = mulberry32(13);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const sink = memorySink();
  const writer = createCellSetWriter(sink, {
    timing: {
      numTimes: NUM_TIMES,
      period: { num: 50, den: 1000 },
      start: { secsSinceEpoch: { num: 1_700_000_000, den: 1 }, utcOffset: 0 },
    },
    spacing: { numPixels: { x: SIZE, y: SIZE } },
    names: Array.from({ length: NUM_CELLS }, (_, i) => name(i)),
    statuses: Array.from({ length: NUM_CELLS }, (_, i) => statusOf(i)),
  });
  const footprint = new Float32Array(SIZE * SIZE);
  const trace = new Float32Array(NUM_TIMES);
  for (let cell = 0; cell < NUM_CELLS; cell++) {
    const cx = 3 + rand() * (SIZE - 6);
    const cy = 3 + rand() * (SIZE - 6);
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++)
        footprint[y * SIZE + x] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 3);
    let c = 0;
    for (let t = 0; t < NUM_TIMES; t++) {
      c = 0.95 * c + (rand() < 0.02 ? 1 + rand() : 0);
      trace[t] = cell === NAN_CELL ? Number.NaN : 1 + c + 0.1 * gauss();
    }
    await writer.addCell(footprint, trace);
  }
  await writer.finish();
  return sink.bytes();
}

/** Runs `caiman-spikes run` in process; returns the output folder. */
async function runJob(dir: string, inputs: string[]): Promise<string> {
  const out = join(dir, 'out');
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const print = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await main(['run', '--quiet', ...inputs, '--out', out]);
    expect(code).toBe(0);
  } finally {
    write.mockRestore();
    print.mockRestore();
  }
  return out;
}

/** Opens report.html, collecting console errors and page errors; prints size and load time. */
async function openReport(
  browser: Browser,
  out: string,
  label: string,
): Promise<{ page: Page; errors: string[] }> {
  const path = join(out, REPORT_NAME);
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  // Any request but the file itself would be the page reaching out: refused and reported.
  page.on('request', (r) => {
    if (r.url() !== pathToFileURL(path).href) errors.push(`request: ${r.url()}`);
  });
  const t0 = performance.now();
  await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
  await page.waitForFunction('window.caimanReport && window.caimanReport.plot !== null');
  const ms = performance.now() - t0;
  const bytes = statSync(path).size;
  console.log(
    `report.html (${label}): ${(bytes / 2 ** 20).toFixed(2)} MiB, loaded and first cell drawn in ${ms.toFixed(0)} ms`,
  );
  return { page, errors };
}

/** Opaque pixels drawn on the plot's canvas (0: nothing drawn). */
const PAINTED = `(() => {
  const c = document.querySelector('#plot canvas');
  if (!c) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
})()`;

const column = (page: Page, k: number) =>
  page.locator(`#cells tbody tr td:nth-child(${k})`).allTextContents();

/** Column index (1-based) of a header label. */
async function columnOf(page: Page, label: string): Promise<number> {
  const labels = await page.locator('#cells thead th').allTextContents();
  const k = labels.findIndex((l) => l.trim() === label);
  expect(k, `column ${label} in ${labels.join(', ')}`).toBeGreaterThanOrEqual(0);
  return k + 1;
}

describeBrowser('report.html in headless chromium', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    dir = mkdtempSync(join(tmpdir(), 'caiman-report-'));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe(`a ${NUM_CELLS}-cell synthetic set (${NUM_TIMES} frames)`, () => {
    let page: Page;
    let errors: string[];

    beforeAll(async () => {
      const input = join(dir, 'synthetic.isxd');
      writeFileSync(input, await syntheticInput());
      const out = await runJob(dir, [input]);
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
        outputs: { name: string; size: number }[];
      };
      const listed = manifest.outputs.find((o) => o.name === REPORT_NAME);
      expect(listed?.size).toBe(statSync(join(out, REPORT_NAME)).size);
      ({ page, errors } = await openReport(browser, out, `${NUM_CELLS} cells × ${NUM_TIMES}`));
    }, 180_000);

    it('loads with no console error, page error or request', () => {
      expect(errors).toEqual([]);
    });

    it('lists every cell by name in the summary table', async () => {
      const names = await column(page, await columnOf(page, 'name'));
      expect(names).toEqual(Array.from({ length: NUM_CELLS }, (_, i) => name(i)));
      expect(await page.locator('#summary-count').textContent()).toBe(
        `${NUM_CELLS} of ${NUM_CELLS} cells shown`,
      );
    });

    it('draws the first cell: raw, denoised and events at ≤ 2 000 points, and its outline', async () => {
      expect(await page.evaluate('window.caimanReport.current')).toBe('0:0');
      expect(await page.evaluate('window.caimanReport.plot.data.length')).toBe(4);
      for (const series of [0, 1, 2, 3])
        expect(await page.evaluate(`window.caimanReport.plot.data[${series}].length`)).toBe(2000);
      // Raw and denoised have values; events have at least one bar.
      for (const series of [1, 2])
        expect(
          await page.evaluate(
            `window.caimanReport.plot.data[${series}].filter((v) => v !== null).length`,
          ),
        ).toBe(2000);
      expect(
        await page.evaluate(`window.caimanReport.plot.data[3].filter((v) => v > 0).length`),
      ).toBeGreaterThan(0);
      expect(await page.evaluate(PAINTED)).toBeGreaterThan(1000);
      expect(await page.locator('#current-outline').getAttribute('d')).toMatch(/^M/);
      expect(await page.locator('#estimates').textContent()).toContain('τ decay (s)');
    });

    it('steps to the next cell and to a cell picked in the table', async () => {
      await page.click('#next');
      expect(await page.evaluate('window.caimanReport.current')).toBe('0:1');
      expect(await page.locator('#plot').getAttribute('data-cell')).toBe('0:1');
      expect(await page.locator('#cell-title').textContent()).toContain(name(1));
      expect(await page.locator('#position').textContent()).toBe(`cell 2 of ${NUM_CELLS}`);
      await page.locator('#cells tbody tr').nth(500).click();
      expect(await page.evaluate('window.caimanReport.current')).toBe('0:500');
      expect(await page.locator('#cell-title').textContent()).toContain(name(500));
      expect(await page.evaluate(PAINTED)).toBeGreaterThan(1000);
      await page.click('#prev');
      expect(await page.evaluate('window.caimanReport.current')).toBe('0:499');
    });

    it('shows a failed cell with its reason and raw input only', async () => {
      await page.locator('#cells tbody tr').nth(NAN_CELL).click();
      expect(await page.locator('#cell-note').textContent()).toMatch(/^Not deconvolved: .+/);
      expect(await page.evaluate('window.caimanReport.plot.data[2].every((v) => v === null)')).toBe(
        true,
      );
    });

    it('zooms on time by dragging, keeps the zoom across cells, and resets it', async () => {
      await page.locator('#cells tbody tr').nth(10).click();
      const box = await page.locator('#plot .u-over').boundingBox();
      expect(box).not.toBeNull();
      if (box === null) return;
      const y = box.y + box.height / 2;
      await page.mouse.move(box.x + 0.3 * box.width, y);
      await page.mouse.down();
      await page.mouse.move(box.x + 0.4 * box.width, y, { steps: 5 });
      await page.mouse.up();
      const full = NUM_TIMES * 0.05;
      const span = (await page.evaluate(
        'window.caimanReport.plot.scales.x.max - window.caimanReport.plot.scales.x.min',
      )) as number;
      expect(span).toBeGreaterThan(0.05 * full);
      expect(span).toBeLessThan(0.2 * full);
      await page.click('#next');
      const kept = (await page.evaluate(
        'window.caimanReport.plot.scales.x.max - window.caimanReport.plot.scales.x.min',
      )) as number;
      expect(kept).toBeCloseTo(span, 6);
      await page.click('#reset-zoom');
      const reset = (await page.evaluate(
        'window.caimanReport.plot.scales.x.max - window.caimanReport.plot.scales.x.min',
      )) as number;
      expect(reset).toBeGreaterThan(0.95 * full);
    });

    it('searches by name', async () => {
      await page.fill('#search', name(42));
      expect(await column(page, await columnOf(page, 'name'))).toEqual([name(42)]);
      expect(await page.evaluate('window.caimanReport.current')).toBe('0:42');
      await page.fill('#search', 'no such cell');
      expect(await page.locator('#cells tbody tr').count()).toBe(0);
      expect(await page.locator('#cell-title').textContent()).toBe('No cell matches the filter');
      await page.fill('#search', '');
      expect(await page.locator('#cells tbody tr').count()).toBe(NUM_CELLS);
    });

    it('filters by status and by outcome', async () => {
      await page.selectOption('#status-filter', 'rejected');
      const statuses = await column(page, await columnOf(page, 'status'));
      expect(statuses.length).toBe(NUM_CELLS / 10);
      expect(new Set(statuses)).toEqual(new Set(['rejected']));
      await page.selectOption('#status-filter', 'failed');
      expect(await column(page, await columnOf(page, 'name'))).toEqual([name(NAN_CELL)]);
      await page.selectOption('#status-filter', '');
      expect(await page.locator('#cells tbody tr').count()).toBe(NUM_CELLS);
    });

    it('sorts by any column, both ways', async () => {
      const events = await columnOf(page, 'events');
      await page
        .locator('#cells thead th')
        .nth(events - 1)
        .click();
      const up = (await column(page, events)).map(Number);
      expect(up).toEqual([...up].sort((a, b) => a - b));
      expect(up[0]).toBeLessThan(up.at(-1)!);
      await page
        .locator('#cells thead th')
        .nth(events - 1)
        .click();
      const down = (await column(page, events)).map(Number);
      expect(down).toEqual([...up].reverse());
      // Stepping follows the table's order.
      const names = await column(page, await columnOf(page, 'name'));
      await page.locator('#cells tbody tr').nth(0).click();
      await page.click('#next');
      expect(await page.locator('#cell-title').textContent()).toContain(names[1]);
      // A text column sorts by name (numeric aware); a numeric one with missing values puts them last.
      const nameCol = await columnOf(page, 'name');
      await page
        .locator('#cells thead th')
        .nth(nameCol - 1)
        .click();
      await page
        .locator('#cells thead th')
        .nth(nameCol - 1)
        .click();
      expect((await column(page, nameCol))[0]).toBe(name(NUM_CELLS - 1));
      const tau = await columnOf(page, 'τ decay (s)');
      await page
        .locator('#cells thead th')
        .nth(tau - 1)
        .click();
      expect((await column(page, tau)).at(-1)).toBe('—');
      expect(errors).toEqual([]);
    });
  });

  describe('the sample series of ../shared (two files)', () => {
    it.skipIf(!sharedAvailable && !process.env.CI)(
      'shows every cell of both parts and draws a cell of part 2 on its own time axis',
      async () => {
        const inputs = [1, 2].map((k) => sharedPath('data', `cellset_series_part${k}.isxd`));
        mkdirSync(join(dir, 'series'));
        const out = await runJob(join(dir, 'series'), inputs);
        const { page, errors } = await openReport(browser, out, 'sample series');
        const rows = (await page.evaluate('window.caimanReport.rows')) as number;
        const files = await column(page, 1);
        expect(files.length).toBe(rows);
        expect(new Set(files)).toEqual(new Set(['0', '1']));
        const meta = JSON.parse(readFileSync(join(out, 'output_metadata.json'), 'utf8')) as Record<
          string,
          { deconvolution?: { cells: { name: string }[] } }
        >;
        const expected = Object.values(meta).flatMap(
          (v) => v.deconvolution?.cells.map((c) => c.name) ?? [],
        );
        expect(await column(page, await columnOf(page, 'name'))).toEqual(expected);
        const second = files.indexOf('1');
        await page.locator('#cells tbody tr').nth(second).click();
        expect(await page.evaluate('window.caimanReport.current')).toMatch(/^1:/);
        expect(await page.evaluate('window.caimanReport.plot.data[0][0]')).toBeGreaterThan(0);
        expect(await page.evaluate(PAINTED)).toBeGreaterThan(1000);
        expect(errors).toEqual([]);
        await page.close();
      },
      120_000,
    );
  });
});
