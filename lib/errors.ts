/**
 * Every error the product raises on purpose. Each class sets `name`, which is what Step
 * Functions matches in `ErrorEquals`, and keeps its facts in fields, not only in the message.
 * Messages name the file, parameter or cell and say what was expected.
 */

/** Base class: anything the user can act on (bad file, bad parameter, broken series). */
class CaimanSpikesError extends Error {
  /** Stable machine-readable code (see each subclass). */
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CaimanSpikesError';
    this.code = code;
  }
}

/** Codes of {@link IsxdFormatError}. */
const IsxdErrorCode = {
  Truncated: 'Truncated',
  FooterLength: 'FooterLength',
  FooterJson: 'FooterJson',
  WrongFileType: 'WrongFileType',
  MissingKey: 'MissingKey',
  BadValue: 'BadValue',
  CellCountMismatch: 'CellCountMismatch',
  DataSize: 'DataSize',
  NonFinite: 'NonFinite',
  OutOfRange: 'OutOfRange',
} as const;
type IsxdErrorCode = (typeof IsxdErrorCode)[keyof typeof IsxdErrorCode];

/** A `.isxd` file that cannot be read (or a value that cannot be written) as the format says. */
class IsxdFormatError extends CaimanSpikesError {
  readonly file: string;
  readonly expected?: string;
  readonly actual?: string;
  readonly offset?: number;
  constructor(
    file: string,
    code: IsxdErrorCode,
    detail: string,
    facts: { expected?: string; actual?: string; offset?: number } = {},
    options?: ErrorOptions,
  ) {
    const parts = [`${file}: ${detail}`];
    if (facts.expected !== undefined) parts.push(`expected ${facts.expected}`);
    if (facts.actual !== undefined) parts.push(`got ${facts.actual}`);
    super(parts.join('; '), code, options);
    this.name = 'IsxdFormatError';
    this.file = file;
    this.expected = facts.expected;
    this.actual = facts.actual;
    this.offset = facts.offset;
  }
}

/** A tool or solver parameter outside its valid range. */
class InvalidParameterError extends CaimanSpikesError {
  readonly parameter: string;
  readonly value: unknown;
  constructor(parameter: string, value: unknown, expected: string, options?: ErrorOptions) {
    super(
      `parameter ${parameter} = ${formatValue(value)} is invalid: expected ${expected}`,
      'InvalidParameter',
      options,
    );
    this.name = 'InvalidParameterError';
    this.parameter = parameter;
    this.value = value;
  }
}

/**
 * The deconvolution cannot proceed on this trace with these parameters (where CaImAn raises:
 * too short to estimate, empty noise band, AR(2) roots not real and positive, …).
 */
class DeconvolutionError extends CaimanSpikesError {
  constructor(message: string, code = 'Deconvolution', options?: ErrorOptions) {
    super(message, code, options);
    this.name = 'DeconvolutionError';
  }
}

/** Several cell sets that do not form one series (names both files and the difference). */
class InvalidSeriesError extends CaimanSpikesError {
  readonly files: string[];
  constructor(files: string[], detail: string, options?: ErrorOptions) {
    super(`${files.join(' and ')} cannot form one series: ${detail}`, 'InvalidSeries', options);
    this.name = 'InvalidSeriesError';
    this.files = files;
  }
}

/** A job input that is not usable (missing file, zero cells, output exists, …). */
class InvalidInputError extends CaimanSpikesError {
  constructor(message: string, code = 'InvalidInput', options?: ErrorOptions) {
    super(message, code, options);
    this.name = 'InvalidInputError';
  }
}

/**
 * A fault of this product or its environment, not of the user's input (a broken invariant, a
 * missing intermediate, storage that keeps refusing a write or delete). The CLI exits 1 and says
 * "internal error"; it is never reported as bad input.
 */
class InternalError extends Error {
  readonly code: string;
  constructor(message: string, code = 'Internal', options?: ErrorOptions) {
    super(message, options);
    // Not 'InternalError': S3 and other AWS services use that name for their transient faults,
    // which Step Functions retries; this one must not be.
    this.name = 'CaimanSpikesInternalError';
    this.code = code;
  }
}

/** The `name` of every CaimanSpikesError subclass: the user's errors (exit code 2). */
const USER_ERROR_NAMES: ReadonlySet<string> = new Set([
  'CaimanSpikesError',
  'IsxdFormatError',
  'InvalidParameterError',
  'DeconvolutionError',
  'InvalidSeriesError',
  'InvalidInputError',
]);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  return String(value);
}

export {
  CaimanSpikesError,
  DeconvolutionError,
  InternalError,
  InvalidInputError,
  InvalidParameterError,
  InvalidSeriesError,
  IsxdErrorCode,
  IsxdFormatError,
  USER_ERROR_NAMES,
};
