/**
 * Which cells the three previews show, and in which order, decided once for all three: the
 * candidates are the cells that are not rejected and were deconvolved (finalize.ts filters
 * them), ranked by the skewness of their denoised trace (NaN last, ties by cell index). The
 * events raster shows every candidate in that order; the traces preview (and the filled
 * footprints) up to {@link MAX_SHOWN} of them spread evenly over the ranking.
 */

/** Traces drawn at most. */
const MAX_SHOWN = 20;

/** How the shown cells are chosen, as the traces preview's title says it. */
const SELECTION_RULE = 'skewness (evenly spread over the ranking, highest at the top)';

/** Candidates ranked by skewness, lowest first (NaN last, ties by cell index). */
function rankCells(cells: { cell: number; skewness: number }[]): number[] {
  return [...cells]
    .sort(
      (a, b) =>
        (Number.isNaN(a.skewness) ? 1 : 0) - (Number.isNaN(b.skewness) ? 1 : 0) ||
        a.skewness - b.skewness ||
        a.cell - b.cell,
    )
    .map((c) => c.cell);
}

/**
 * Up to 20 cells spread evenly over the ranking by skewness (ranks round(i·(n−1)/19)),
 * de-duplicated, returned lowest skewness first.
 */
function selectCells(cells: { cell: number; skewness: number }[]): number[] {
  const ranked = rankCells(cells);
  const n = ranked.length;
  if (n <= MAX_SHOWN) return ranked;
  const picks = new Set<number>();
  for (let i = 0; i < MAX_SHOWN; i++) picks.add(Math.round((i * (n - 1)) / (MAX_SHOWN - 1)));
  return [...picks].sort((a, b) => a - b).map((i) => ranked[i]);
}

/** Why no cell is shown, from the cells' counts (null when some candidate exists). */
function noCellMessage(counts: {
  total: number;
  candidates: number;
  rejected: number;
  skipped: number;
  failed: number;
}): string | null {
  if (counts.candidates > 0) return null;
  if (counts.total === 0) return 'The file has no cells';
  if (counts.skipped === counts.total)
    return `No cells deconvolved: all ${counts.total} cells were skipped by --accepted-only`;
  const why = [
    counts.rejected > 0 ? `${counts.rejected} rejected` : '',
    counts.skipped > 0 ? `${counts.skipped} skipped by --accepted-only` : '',
    counts.failed > 0 ? `${counts.failed} could not be deconvolved` : '',
  ].filter((s) => s !== '');
  return `No accepted or undecided cell deconvolved (of ${counts.total} cells: ${why.join(', ')})`;
}

export { MAX_SHOWN, noCellMessage, rankCells, SELECTION_RULE, selectCells };
