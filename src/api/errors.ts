// How RvisorError codes travel over HTTP: each code has one HTTP status; the body is always
// {"error": {"code", "message"}}. The client turns such a body back into the same RvisorError.
import { ERROR_CODES, RvisorError, type ErrorCode } from '../errors.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  VM_NOT_FOUND: 404,
  VM_EXISTS: 409,
  VM_STATE: 409,
  BAD_DEFINITION: 400,
  BAD_REQUEST: 400,
  USAGE: 400,
  UNAUTHORIZED: 401,
  SHUTDOWN_TIMEOUT: 504,
  // Files named by a definition that turn out unusable when the VM starts.
  ENOENT_FILE: 400,
  BAD_KERNEL: 400,
  BAD_IMAGE: 400,
  MEM_TOO_SMALL: 400,
  DISK_READONLY: 400,
  DISK_OPEN: 400,
  ENOMEM_HOST: 503,
  SNAPSHOT_FOREIGN: 400,
  SNAPSHOT_CORRUPT: 400,
  MIGRATION_FAILED: 502,
  MIGRATION_CANCELLED: 409,
  SNAPSHOT_VERSION: 400,
  SNAPSHOT_MISMATCH: 409,
  DISK_CHANGED: 409,
  DISK_IN_USE: 409,
  SNAPSHOT_NOT_FOUND: 404,
  SNAPSHOT_EXISTS: 409,
  HOST_UNREACHABLE: 502,
};

export function httpStatus(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

/** The RvisorError an API error body stands for (unknown codes from a newer host: INTERNAL). */
export function errorFromBody(status: number, body: unknown): RvisorError {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    const code = (e.code in ERROR_CODES ? e.code : 'INTERNAL') as ErrorCode;
    return new RvisorError(code, e.message);
  }
  return new RvisorError(status === 401 ? 'UNAUTHORIZED' : 'INTERNAL', `the host answered HTTP ${status} without an error body`);
}
