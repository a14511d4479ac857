/**
 * Minimal SVG document helpers shared by the previews: element strings with escaped text,
 * axes drawn from d3-scale ticks, and a categorical colour per highlighted cell.
 */
import type { ScaleLinear } from 'd3-scale';

type Attrs = Record<string, string | number | undefined>;

const FONT = 'font-family="Helvetica, Arial, sans-serif"';
const AXIS_COLOR = '#555';

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? round(v) : escapeXml(v as string)}"`)
    .join('');
}

/** A number with at most 2 decimals (keeps files small). */
function round(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** `<tag a="…">children</tag>` (self-closed when there are no children). */
function el(tag: string, a: Attrs, ...children: string[]): string {
  return children.length === 0
    ? `<${tag}${attrs(a)}/>`
    : `<${tag}${attrs(a)}>${children.join('')}</${tag}>`;
}

/** A text element; `text` is escaped. */
function text(x: number, y: number, s: string, a: Attrs = {}): string {
  return el('text', { x, y, 'font-size': 12, fill: AXIS_COLOR, ...a }, escapeXml(s));
}

/** A whole SVG document with a white background. */
function svgDocument(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    el('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }),
    ...body,
    '</svg>',
  ].join('\n');
}

/** Bottom axis with d3 ticks and a label. */
function bottomAxis(x: ScaleLinear<number, number>, y: number, label: string, ticks = 8): string {
  const [r0, r1] = x.range();
  const parts = [el('line', { x1: r0, x2: r1, y1: y, y2: y, stroke: AXIS_COLOR })];
  for (const t of x.ticks(ticks)) {
    const px = x(t);
    parts.push(el('line', { x1: px, x2: px, y1: y, y2: y + 5, stroke: AXIS_COLOR }));
    parts.push(
      text(px, y + 18, x.tickFormat(ticks)(t), { 'text-anchor': 'middle', 'font-size': 11 }),
    );
  }
  parts.push(text((r0 + r1) / 2, y + 36, label, { 'text-anchor': 'middle', 'font-size': 13 }));
  return el('g', { class: 'axis x' }, ...parts);
}

/**
 * Left axis with a rotated label: d3 ticks (whole numbers only with `integer`), or explicit
 * `[value, label]` ticks.
 */
function leftAxis(
  y: ScaleLinear<number, number>,
  x: number,
  label: string,
  ticks: number | [number, string][] = 5,
  integer = false,
): string {
  const [r0, r1] = y.range();
  const parts = [el('line', { x1: x, x2: x, y1: r0, y2: r1, stroke: AXIS_COLOR })];
  const list: [number, string][] = Array.isArray(ticks)
    ? ticks
    : y
        .ticks(ticks)
        .filter((t) => !integer || Number.isInteger(t))
        .map((t) => [t, integer ? String(t) : y.tickFormat(ticks)(t)]);
  for (const [t, s] of list) {
    const py = y(t);
    parts.push(el('line', { x1: x - 5, x2: x, y1: py, y2: py, stroke: AXIS_COLOR }));
    parts.push(text(x - 8, py + 4, s, { 'text-anchor': 'end', 'font-size': 11 }));
  }
  const mid = (r0 + r1) / 2;
  parts.push(
    text(x - 46, mid, label, {
      'text-anchor': 'middle',
      'font-size': 13,
      transform: `rotate(-90 ${x - 46} ${mid})`,
    }),
  );
  return el('g', { class: 'axis y' }, ...parts);
}

/** The largest 1·10^k, 2·10^k or 5·10^k not above x (x > 0 and finite; else NaN): a scale bar's length. */
function niceBelow(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return Number.NaN;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [5, 2, 1]) if (m * p <= x * (1 + 1e-12)) return m * p;
  return p;
}

/** A value for a label: up to 3 significant digits, no exponent between 1e-3 and 1e6. */
function formatValue(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e6) return String(Number(v.toPrecision(3)));
  return v.toExponential(1);
}

/**
 * Estimated width (px) of `s` in the previews' sans-serif font at `size` px: 0.62 em a character
 * (0.7 em bold), an upper bound for Helvetica/Arial/DejaVu Sans digits and letters.
 */
function textWidth(s: string, size: number, bold = false): number {
  return s.length * size * (bold ? 0.7 : 0.62);
}

/** A `<clipPath id>` holding one rectangle (use with `clip-path="url(#id)"`). */
function clipRect(id: string, x: number, y: number, width: number, height: number): string {
  return el('clipPath', { id }, el('rect', { x, y, width, height }));
}

/** Rainbow colour for rank i of n (violet → red), as the original previews colour cells. */
function rainbow(i: number, n: number): string {
  const f = n <= 1 ? 0 : i / (n - 1);
  return `hsl(${Math.round(270 - 270 * f)}, 80%, 45%)`;
}

export type { Attrs };
export {
  bottomAxis,
  clipRect,
  el,
  escapeXml,
  formatValue,
  leftAxis,
  niceBelow,
  rainbow,
  svgDocument,
  text,
  textWidth,
};
