/**
 * `footprints_cellset_denoised.kkk.svg` (contract §7): each non-rejected cell outlined by the
 * iso-line of its footprint at half its maximum, f(x, y) = max f / 2 (marching squares,
 * d3-contour), every piece of it (the original drew only the first, §11.11). Highlighted cells
 * (the ones in the traces preview) are filled in their colour at 50 % opacity and labelled
 * with their name at the contour centroid; the others are light grey. Image y grows
 * downwards, as in IDPS.
 */
import { contours } from 'd3-contour';
import { el, formatValue, niceBelow, svgDocument, text, textWidth } from './svg.js';

/** One separate piece of an outline: its area (px²) and centroid (pixel units). */
interface Piece {
  area: number;
  cx: number;
  cy: number;
}

/** A footprint's half-maximum outline (pixel units) and the centre of its largest piece. */
interface Outline {
  d: string;
  cx: number;
  cy: number;
  /** Every piece, largest first. */
  pieces: Piece[];
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
function halfMaxContour(pixels: Float32Array, width: number, height: number): Outline {
  let max = 0;
  for (let i = 0; i < pixels.length; i++) if (pixels[i] > max) max = pixels[i];
  if (!(max > 0)) return { d: '', cx: Number.NaN, cy: Number.NaN, pieces: [] };
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
  const pieces: Piece[] = [];
  for (const polygon of shape.coordinates) {
    for (const ring of polygon) {
      parts.push(`M${ring.map(([x, y]) => `${round3(x + x0)},${round3(y + y0)}`).join('L')}Z`);
    }
    // The polygon's outer ring (the others are its holes): area and centroid by the shoelace
    // formula, A = ½·Σ (xᵢ·yᵢ₊₁ − xᵢ₊₁·yᵢ), c = Σ (pᵢ + pᵢ₊₁)·(xᵢ·yᵢ₊₁ − xᵢ₊₁·yᵢ) / (6A).
    const ring = polygon[0];
    let a2 = 0;
    let sx = 0;
    let sy = 0;
    for (let i = 0; i + 1 < ring.length; i++) {
      const [xa, ya] = ring[i];
      const [xb, yb] = ring[i + 1];
      const cross = xa * yb - xb * ya;
      a2 += cross;
      sx += (xa + xb) * cross;
      sy += (ya + yb) * cross;
    }
    if (a2 !== 0)
      pieces.push({ area: Math.abs(a2) / 2, cx: sx / (3 * a2) + x0, cy: sy / (3 * a2) + y0 });
  }
  pieces.sort((p, q) => q.area - p.area);
  // Label at the centre of the largest piece.
  return {
    d: parts.join(''),
    cx: pieces[0]?.cx ?? Number.NaN,
    cy: pieces[0]?.cy ?? Number.NaN,
    pieces,
  };
}

/** What the footprints preview says about the file. */
interface FootprintsContext {
  /** Pixel width and height in µm (spacingInfo.pixelSize), or null when unknown. */
  pixelSizeUm: { x: number; y: number } | null;
  /** Shown when there is no cell (selection.ts noCellMessage). */
  empty: string | null;
}

/** An axis-aligned box (px). */
interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const LABEL_SIZE = 11;
const LABEL_H = 13;
const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/**
 * Greedy label placement: each label, in turn, at the first candidate position whose box stays
 * inside `frame` and overlaps no label placed before nor another labelled cell's anchor. The
 * candidates are the anchor itself when the label fits inside the cell (radius r), then rings of
 * 12 positions at growing distances from r + 8 px. Returns the box centre per label, or null
 * where no candidate is free.
 */
function placeLabels(
  labels: { x: number; y: number; w: number; r: number }[],
  frame: Box,
): ({ x: number; y: number } | null)[] {
  const placed: Box[] = [];
  const anchors = labels.map((l) => ({ x0: l.x - 2, y0: l.y - 2, x1: l.x + 2, y1: l.y + 2 }));
  return labels.map((l, i) => {
    const candidates: [number, number][] = l.w / 2 <= l.r ? [[0, 0]] : [];
    for (const d of [0, 8, 18, 30, 45, 65, 90, 120, 160]) {
      const r = l.r + 8 + d;
      for (let k = 0; k < 12; k++) {
        const a = (k * Math.PI) / 6 - Math.PI / 2;
        candidates.push([(r + l.w / 2 - LABEL_H / 2) * Math.cos(a), r * Math.sin(a)]);
      }
    }
    for (const [dx, dy] of candidates) {
      const x = l.x + dx;
      const y = l.y + dy;
      const box = { x0: x - l.w / 2, x1: x + l.w / 2, y0: y - LABEL_H / 2, y1: y + LABEL_H / 2 };
      if (box.x0 < frame.x0 || box.x1 > frame.x1 || box.y0 < frame.y0 || box.y1 > frame.y1)
        continue;
      if (placed.some((b) => overlaps(box, b))) continue;
      if (anchors.some((a, j) => j !== i && overlaps(box, a))) continue;
      placed.push({ x0: box.x0 - 1, x1: box.x1 + 1, y0: box.y0 - 1, y1: box.y1 + 1 });
      return { x, y };
    }
    return null;
  });
}

/**
 * Renders the footprints preview: the image in its physical aspect (pixel width and height in
 * µm), a µm scale bar under it, the highlighted cells named once each (at their largest piece;
 * the other pieces of a split footprint are joined to it by dotted lines), the names placed so
 * that none overlaps another (a displaced name has a leader line to its cell).
 *
 * @param cells - non-rejected cells; highlighted ones are drawn last (on top).
 */
function footprintsPreview(
  cells: FootprintToDraw[],
  width: number,
  height: number,
  ctx: FootprintsContext,
): string {
  const px = ctx.pixelSizeUm;
  const aspect = px !== null && px.x > 0 && px.y > 0 ? px.y / px.x : 1;
  const scale = Math.max(1, Math.min(720 / width, 720 / (height * aspect)));
  const sx = scale;
  const sy = scale * aspect;
  const margin = { top: 52, right: 20, bottom: 48, left: 20 };
  const imgW = width * sx;
  const imgH = height * sy;
  const W = Math.max(margin.left + imgW + margin.right, 420);
  const H = margin.top + imgH + margin.bottom;
  const ordered = [...cells].sort((a, b) => Number(a.color !== null) - Number(b.color !== null));
  const shapes: string[] = [];
  const joins: string[] = [];
  const toLabel: { c: FootprintToDraw; x: number; y: number; w: number; r: number }[] = [];
  const X = (u: number) => margin.left + u * sx;
  const Y = (v: number) => margin.top + v * sy;
  for (const c of ordered) {
    const { d, cx, cy, pieces } = c.outline;
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
    if (c.color === null || !Number.isFinite(cx)) continue;
    for (const piece of pieces.slice(1)) {
      joins.push(
        el('line', {
          class: 'join',
          'data-cell': c.cell,
          x1: X(cx),
          y1: Y(cy),
          x2: X(piece.cx),
          y2: Y(piece.cy),
          stroke: c.color,
          'stroke-width': 1.2,
          'stroke-dasharray': '2 3',
        }),
      );
    }
    // The largest piece's radius on screen (as a disc of its area).
    const r = Math.sqrt((pieces[0]?.area ?? 0) / Math.PI) * Math.sqrt(sx * sy);
    toLabel.push({ c, x: X(cx), y: Y(cy), w: textWidth(c.name, LABEL_SIZE, true) + 4, r });
  }
  const spots = placeLabels(toLabel, {
    x0: margin.left,
    y0: margin.top,
    x1: margin.left + imgW,
    y1: margin.top + imgH,
  });
  const labels: string[] = [];
  const unplaced: FootprintToDraw[] = [];
  toLabel.forEach((l, i) => {
    const spot = spots[i];
    if (spot === null) {
      unplaced.push(l.c);
      return;
    }
    const distance = Math.hypot(spot.x - l.x, spot.y - l.y);
    // A name not on its cell's centre gets a leader to it (beside overlapping cells, a name
    // without one could be read as its neighbour's).
    const moved = distance > 0;
    const parts: string[] = [];
    if (moved) {
      // Leader from the cell's centre to the nearest point of the label's box.
      const ex = Math.max(spot.x - l.w / 2, Math.min(l.x, spot.x + l.w / 2));
      const ey = Math.max(spot.y - LABEL_H / 2, Math.min(l.y, spot.y + LABEL_H / 2));
      parts.push(
        el('line', { x1: l.x, y1: l.y, x2: ex, y2: ey, stroke: '#333', 'stroke-width': 0.8 }),
        el('circle', { cx: l.x, cy: l.y, r: 1.8, fill: '#333' }),
      );
    }
    parts.push(
      el('rect', {
        x: spot.x - l.w / 2,
        y: spot.y - LABEL_H / 2,
        width: l.w,
        height: LABEL_H,
        fill: '#ffffff',
        'fill-opacity': moved ? 0.75 : 0,
        rx: 2,
      }),
      text(spot.x, spot.y + 4, l.c.name, {
        'text-anchor': 'middle',
        'font-size': LABEL_SIZE,
        fill: '#111',
        'font-weight': 'bold',
      }),
    );
    labels.push(
      el(
        'g',
        {
          class: 'label',
          'data-cell': l.c.cell,
          'data-box': `${spot.x - l.w / 2} ${spot.y - LABEL_H / 2} ${spot.x + l.w / 2} ${spot.y + LABEL_H / 2}`,
        },
        ...parts,
      ),
    );
  });
  const highlighted = cells.filter((c) => c.color !== null).length;
  const body = [
    el(
      'defs',
      {},
      el(
        'clipPath',
        { id: 'footprints-image' },
        el('rect', { x: margin.left, y: margin.top, width: imgW, height: imgH }),
      ),
    ),
    text(W / 2, 22, `Footprints of ${cells.length} cells (half-maximum contours)`, {
      'text-anchor': 'middle',
      'font-size': 15,
      class: 'title',
    }),
    text(
      W / 2,
      40,
      highlighted > 0
        ? `the ${highlighted} cells of the traces preview filled in their colour and named; pieces of one cell joined by dots`
        : 'grey: cells not in the traces preview',
      { 'text-anchor': 'middle', 'font-size': 11 },
    ),
    el('rect', {
      x: margin.left,
      y: margin.top,
      width: imgW,
      height: imgH,
      fill: '#fafafa',
      stroke: '#888',
    }),
    el(
      'g',
      { 'clip-path': 'url(#footprints-image)' },
      el(
        'g',
        { transform: `translate(${margin.left} ${margin.top}) scale(${sx} ${sy})` },
        ...shapes,
      ),
      ...joins,
    ),
    ...labels,
  ];
  const below = margin.top + imgH + 22;
  if (px !== null && px.x > 0) {
    // Scale bar: 1, 2 or 5·10^k µm, at most a quarter of the image width.
    const um = niceBelow((width * px.x) / 4);
    const len = (um / px.x) * sx;
    body.push(
      el(
        'g',
        { class: 'scale-bar', 'data-um': um, 'data-px': len },
        el('line', {
          x1: margin.left,
          x2: margin.left + len,
          y1: below,
          y2: below,
          stroke: '#111',
          'stroke-width': 3,
        }),
        text(margin.left + len + 8, below + 4, `${formatValue(um)} µm`, {
          'font-size': 12,
          fill: '#111',
        }),
        text(
          margin.left + imgW,
          below + 4,
          `pixel ${formatValue(px.x)} × ${formatValue(px.y)} µm`,
          {
            'font-size': 11,
            'text-anchor': 'end',
          },
        ),
      ),
    );
  } else {
    body.push(
      text(margin.left, below + 4, 'pixel size unknown: no scale bar', { 'font-size': 11 }),
    );
  }
  if (unplaced.length > 0) {
    // No free spot for these names inside the image: listed under it instead.
    body.push(
      text(margin.left, below + 20, `also shown: ${unplaced.map((c) => c.name).join(', ')}`, {
        'font-size': 10,
        class: 'unplaced',
      }),
    );
  }
  if (cells.length === 0) {
    body.push(
      text(W / 2, margin.top + imgH / 2, ctx.empty ?? 'No cell to show', {
        'text-anchor': 'middle',
        class: 'empty',
      }),
    );
  }
  return svgDocument(Math.round(W), Math.round(H), body);
}

export type { FootprintsContext, FootprintToDraw, Outline };
export { footprintsPreview, halfMaxContour, placeLabels };
