/**
 * The one error model. Every domain throws ConsortiaError (or a subclass) with a stable
 * `code`; the HTTP layers map codes to status codes in a single error handler each.
 * Codes are SCREAMING_SNAKE strings and never change meaning once released.
 */
export class ConsortiaError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConsortiaError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Codes shared by every edge (config, generic input). Domain codes live with their domain. */
export const CommonCodes = {
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  INTERNAL: 'INTERNAL',
} as const;

export function isConsortiaError(err: unknown): err is ConsortiaError {
  return err instanceof ConsortiaError;
}
