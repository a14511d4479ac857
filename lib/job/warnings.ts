/**
 * The run's warnings (the run summary and output_metadata.json): what the user should know about
 * a result that is complete but may not be what they meant.
 */
import type { FileOutputs } from './assemble.js';
import { isDeconvolved } from './deconvolveChunk.js';
import type { JobPlan } from './plan.js';

/**
 * A cell whose events fall on more than this share of its valid frames is named in the run's
 * warnings: with the default event rule (every frame with s > 0) one transient is a run of events.
 */
const DENSE_EVENTS_SHARE = 0.3;

/**
 * What a run must warn about, from the files' outputs: `--accepted-only` that left no cell to
 * deconvolve, and cells with events on more than {@link DENSE_EVENTS_SHARE} of their valid
 * frames (pointing to --event-threshold-sn). Empty when there is nothing to say. The CLI prints
 * them for the whole run; each file's output_metadata.json entry holds its own (on AWS too).
 */
function runWarnings(plan: JobPlan, outputs: readonly FileOutputs[]): string[] {
  const warnings: string[] = [];
  const cells = outputs.flatMap((o) => o.cells);
  const skipped = cells.filter((c) => c.skipped).length;
  if (plan.options.acceptedOnly !== 'off' && skipped === cells.length) {
    const kept = plan.options.acceptedOnly === 'accepted' ? 'accepted' : 'accepted or undecided';
    const statuses = new Map<string, number>();
    for (const c of cells) statuses.set(c.status, (statuses.get(c.status) ?? 0) + 1);
    const found = [...statuses].map(([s, n]) => `${n} ${s}`).join(', ');
    warnings.push(
      `--accepted-only ${plan.options.acceptedOnly} left no cell to deconvolve: none of the ${cells.length} cells is ${kept} (${found}); every trace is NaN and there are no events. Run without --accepted-only${plan.options.acceptedOnly === 'accepted' ? ' or with --accepted-only accepted+undecided' : ''} to deconvolve them.`,
    );
  }
  const dense: { name: string; share: number }[] = [];
  for (const out of outputs) {
    const info = plan.files[out.file];
    const valid = info.numTimes - info.invalidFrames.length;
    if (valid <= 0) continue;
    for (const c of out.cells) {
      if (isDeconvolved(c) && c.numEvents > DENSE_EVENTS_SHARE * valid) {
        dense.push({ name: c.name, share: c.numEvents / valid });
      }
    }
  }
  if (dense.length > 0) {
    dense.sort((a, b) => b.share - a.share);
    const shown = dense
      .slice(0, 5)
      .map((d) => `${d.name} ${Math.round(100 * d.share)} %`)
      .join(', ');
    const rule =
      plan.options.eventThresholdSn === null
        ? 'every frame with deconvolved activity s > 0 is an event (the original rule), so one transient is a run of events; --event-threshold-sn K (e.g. 2 or 3) keeps only events with s ≥ K·sn'
        : `with --event-threshold-sn ${plan.options.eventThresholdSn}; a larger K keeps fewer, larger events`;
    warnings.push(
      `${dense.length} cell(s) have events on more than ${100 * DENSE_EVENTS_SHARE} % of their valid frames (${shown}${dense.length > 5 ? ', …' : ''}): ${rule}.`,
    );
  }
  return warnings;
}

export { DENSE_EVENTS_SHARE, runWarnings };
