/**
 * `footprints_cellset_denoised.kkk.svg` (contract §7): each non-rejected cell outlined by the
 * iso-line of its footprint at half its maximum, f(x, y) = max f / 2 (marching squares,
 * d3-contour), every piece of it (the original drew only the first, §11.11). Highlighted cells
 * (the ones in the traces preview) are filled in their colour at 50 % opacity and labelled
 * with their name at the contour centroid; the others are light grey. Image y grows
 * downwards, as in IDPS.
 */
import { contours } from 'd3-contour';
import { el, svgDocument, text } from './svg.js';

/** A footprint's half-maximum outline (pixel units) and the centre of its largest piece. */
interface Outline {
  d: string;
  cx: number;
  cy: number;
}

/** One footprint to outline. */
interface FootprintToDraw {
  cell: number;
  name: string;
  /** From {@link halfMaxContour}. */
  outline: Outline;
  /** Fill colour when highlighted, null for a grey outline. */
  color: string | null;
}

const GREY = '#c8c8c8';

/** Coordinates in outlines are rounded to 1/1000 pixel (far below a screen pixel at any scale). */
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * SVG path of the half-maximum contour (all pieces), in pixel units; empty if all-zero.
 * Marching squares only looks at neighbouring pixels and treats the outside of the grid as
 * below any threshold, so it runs on the bounding box of the pixels ≥ max/2 grown by one pixel
 * (clipped to the image): the same outline at a cost set by the cell's size, not the image's.
 */
function halfMaxContour(
  pixels: Float32Array,
  width: number,
  height: number,
): { d: string; cx: number; cy: number } {
  let max = 0;
  for (let i = 0; i < pixels.length; i++) if (pixels[i] > max) max = pixels[i];
  if (!(max > 0)) return { d: '', cx: Number.NaN, cy: Number.NaN };
  const threshold = max / 2;
  let x0 = width;
  let x1 = -1;
  let y0 = height;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (pixels[y * width + x] >= threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  x0 = Math.max(0, x0 - 1);
  y0 = Math.max(0, y0 - 1);
  x1 = Math.min(width - 1, x1 + 1);
  y1 = Math.min(height - 1, y1 + 1);
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const values = new Array<number>(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = pixels[(y + y0) * width + x + x0];
      values[y * w + x] = Number.isFinite(v) ? v : 0;
    }
  }
  const [shape] = contours().size([w, h]).thresholds([threshold])(values);
  const parts: string[] = [];
  let best = { n: 0, cx: Number.NaN, cy: Number.NaN };
  for (const polygon of shape.coordinates) {
    for (const ring of polygon) {
      parts.push(`M${ring.map(([x, y]) => `${round3(x + x0)},${round3(y + y0)}`).join('L')}Z`);
      if (ring.length > best.n) {
        const cx = ring.reduce((a, p) => a + p[0], 0) / ring.length + x0;
        const cy = ring.reduce((a, p) => a + p[1], 0) / ring.length + y0;
        best = { n: ring.length, cx, cy };
      }
    }
  }
  // Label at the centre of the largest piece.
  return { d: parts.join(''), cx: best.cx, cy: best.cy };
}

/**
 * Renders the footprints preview.
 *
 * @param cells - non-rejected cells; highlighted ones are drawn last (on top).
 */
function footprintsPreview(cells: FootprintToDraw[], width: number, height: number): string {
  const scale = Math.max(1, Math.min(720 / width, 720 / height));
  const margin = { top: 46, right: 20, bottom: 20, left: 20 };
  const W = margin.left + width * scale + margin.right;
  const H = margin.top + height * scale + margin.bottom;
  const ordered = [...cells].sort((a, b) => Number(a.color !== null) - Number(b.color !== null));
  const shapes: string[] = [];
  const labels: string[] = [];
  for (const c of ordered) {
    const { d, cx, cy } = c.outline;
    if (d === '') continue;
    shapes.push(
      el('path', {
        class: c.color === null ? 'footprint' : 'footprint highlighted',
        'data-cell': c.cell,
        d,
        fill: c.color ?? GREY,
        'fill-opacity': c.color === null ? 0.35 : 0.5,
        stroke: c.color ?? '#999',
        'stroke-width': 0.8 / scale,
        'fill-rule': 'evenodd',
      }),
    );
    if (c.color !== null && Number.isFinite(cx)) {
      labels.push(
        text(margin.left + cx * scale, margin.top + cy * scale + 4, c.name, {
          'text-anchor': 'middle',
          'font-size': 11,
          fill: '#111',
          'font-weight': 'bold',
        }),
      );
    }
  }
  const body = [
    text(W / 2, 26, `Footprints of ${cells.length} cells (half-maximum contours)`, {
      'text-anchor': 'middle',
      'font-size': 15,
    }),
    el('rect', {
      x: margin.left,
      y: margin.top,
      width: width * scale,
      height: height * scale,
      fill: '#fafafa',
      stroke: '#888',
    }),
    el('g', { transform: `translate(${margin.left} ${margin.top}) scale(${scale})` }, ...shapes),
    ...labels,
  ];
  if (cells.length === 0) {
    body.push(
      text(W / 2, H / 2, 'No accepted or undecided cell to show', { 'text-anchor': 'middle' }),
    );
  }
  return svgDocument(Math.round(W), Math.round(H), body);
}

export type { FootprintToDraw, Outline };
export { footprintsPreview, halfMaxContour };
