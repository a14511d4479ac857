/**
 * SVG previews rendered to RGBA pixels with resvg (tests only): at the view box's own size,
 * optionally inside a transparent margin (to find anything drawn outside the view box), and
 * small readers of the SVG's elements by class.
 */
import { Resvg } from '@resvg/resvg-js';
import { expect } from 'vitest';

/** RGBA pixels of an SVG rendered at its own size, inside a transparent margin of `m` px. */
export function render(svg: string, m = 0): { w: number; h: number; m: number; px: Uint8Array } {
  const [, W, H] = svg.match(/viewBox="0 0 (\d+) (\d+)"/) ?? [];
  const w = Number(W);
  const h = Number(H);
  const framed = svg.replace(
    /<svg ([^>]*)width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/,
    `<svg $1width="${w + 2 * m}" height="${h + 2 * m}" viewBox="${-m} ${-m} ${w + 2 * m} ${h + 2 * m}"`,
  );
  const image = new Resvg(framed, {
    fitTo: { mode: 'original' },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  }).render();
  expect([image.width, image.height]).toEqual([w + 2 * m, h + 2 * m]);
  return { w, h, m, px: new Uint8Array(image.pixels) };
}

/** Pixels outside the view box that are not fully transparent (must be none). */
export function paintedOutside(svg: string): number {
  const { w, h, m, px } = render(svg, 40);
  let painted = 0;
  const W = w + 2 * m;
  for (let y = 0; y < h + 2 * m; y++) {
    for (let x = 0; x < W; x++) {
      const inside = x >= m && x < m + w && y >= m && y < m + h;
      if (!inside && px[4 * (y * W + x) + 3] !== 0) painted++;
    }
  }
  return painted;
}

/** Counts the pixels of a box (view-box coordinates) that satisfy `test(r, g, b)`. */
export function countPixels(
  image: ReturnType<typeof render>,
  box: { x0: number; x1: number; y0: number; y1: number },
  test: (r: number, g: number, b: number) => boolean,
): number {
  const W = image.w + 2 * image.m;
  let n = 0;
  for (let y = Math.max(0, Math.ceil(box.y0)); y < Math.min(image.h, Math.floor(box.y1)); y++) {
    for (let x = Math.max(0, Math.ceil(box.x0)); x < Math.min(image.w, Math.floor(box.x1)); x++) {
      const o = 4 * ((y + image.m) * W + x + image.m);
      if (test(image.px[o], image.px[o + 1], image.px[o + 2])) n++;
    }
  }
  return n;
}

/** Every `<tag …>` opening tag with `class="cls"`, as attribute maps. */
export function elements(svg: string, cls: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of svg.matchAll(new RegExp(`<[a-z]+ [^>]*class="${cls}"[^>]*>`, 'g'))) {
    const attrs: Record<string, string> = {};
    for (const a of m[0].matchAll(/([a-z-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    out.push(attrs);
  }
  return out;
}
