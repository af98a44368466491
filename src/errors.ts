/**
 * Every error Skiff shows a user is a SkiffError: a stable code, a one-line
 * message that says what is wrong and what to do, and an exit status.
 * Anything else that reaches a boundary is a bug: logged with its chain,
 * shown as an internal error.
 */
export const ERROR_CODES = {
  USAGE: 'wrong arguments or unknown command',
  INVALID: 'a value does not have the required form',
  NOT_FOUND: 'the named thing does not exist',
  CONFLICT: 'the thing exists already or is busy, or a limit is reached',
  DENIED: 'the caller may not do this',
  BUILD_FAILED: 'the image could not be built',
  VERIFY_FAILED: 'the build did not pass its verify command',
  DEPLOY_FAILED: 'the new release did not start or answer',
  EXTERNAL: 'a service Skiff relies on failed',
  INTERNAL: 'a bug in Skiff',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SkiffError extends Error {
  readonly code: ErrorCode;
  readonly exitStatus: number;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; exitStatus?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = 'SkiffError';
    this.code = code;
    this.exitStatus = options.exitStatus ?? 1;
  }
}

export class UsageError extends SkiffError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export class InvalidError extends SkiffError {
  constructor(message: string) {
    super('INVALID', message);
  }
}

export class NotFoundError extends SkiffError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class ConflictError extends SkiffError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

export class DeniedError extends SkiffError {
  constructor(message = 'access denied') {
    super('DENIED', message);
  }
}

export class BuildFailedError extends SkiffError {
  constructor(message: string, cause?: unknown) {
    super('BUILD_FAILED', message, { cause });
  }
}

export class VerifyFailedError extends SkiffError {
  constructor(message: string) {
    super('VERIFY_FAILED', message);
  }
}

export class DeployFailedError extends SkiffError {
  constructor(message: string, cause?: unknown) {
    super('DEPLOY_FAILED', message, { cause });
  }
}

/** A foreign failure (Docker, git) wrapped at the seam with a sentence. */
export class ExternalError extends SkiffError {
  constructor(message: string, cause?: unknown) {
    super('EXTERNAL', message, { cause });
  }
}

export function isSkiffError(err: unknown): err is SkiffError {
  return err instanceof SkiffError;
}

/** The one line a user sees for any error. */
export function userMessage(err: unknown): string {
  if (isSkiffError(err)) return err.message;
  return 'internal error; the server log has the details';
}
