/**
 * The tool's parameters as `constrainedFoopsi` keyword arguments (deconvolution-algorithms.md
 * §1), a one-to-one copy. Kept apart from params.ts so the deconvolution workers do not load zod.
 */
import { DEFAULT_FOOPSI_PARAMS, type FoopsiParams } from '../deconvolution/types.js';
import type { ToolParams } from './params.js';

/** What 'auto' `lags` means (params.ts lagsFor), as the help and output_metadata.json say it. */
const AUTO_LAGS_RULE = `${DEFAULT_FOOPSI_PARAMS.lags}, lowered to max(1, T − 1) for files of T ≤ ${DEFAULT_FOOPSI_PARAMS.lags} frames`;

/**
 * The keyword arguments handed to `constrainedFoopsi` for these tool parameters.
 *
 * @param lags - the lags used for the file (params.ts lagsFor: 'auto' resolved by its length).
 */
function toFoopsiParams(p: ToolParams, lags: number): FoopsiParams {
  return {
    bl: p.bl,
    c1: p.c1,
    g: p.g === null ? null : [...p.g],
    sn: p.sn,
    p: p.p,
    method_deconvolution: p.method_deconvolution,
    bas_nonneg: p.bas_nonneg,
    noise_range: [p.noise_range[0], p.noise_range[1]],
    noise_method: p.noise_method,
    lags,
    fudge_factor: p.fudge_factor,
    solvers: [...p.solvers],
    optimize_g: p.optimize_g,
    s_min: p.s_min,
  };
}

export { AUTO_LAGS_RULE, toFoopsiParams };
