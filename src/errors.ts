// One error base class for everything rvisor reports to a user, each with a stable code
// (design: "errors form a closed, documented set"). The CLI prints `rvisor: <message>` and exits
// with the code's exit status; tests match on `code`, never on message text.

export const ERROR_CODES = {
  USAGE: { exit: 2, what: 'bad command line' },
  ENOENT_FILE: { exit: 3, what: 'a file named on the command line does not exist or cannot be read' },
  NOT_ELF: { exit: 4, what: 'the program is not an ELF file' },
  ELF_CLASS: { exit: 5, what: 'the ELF file is not a 64-bit little-endian RISC-V executable' },
  ELF_CORRUPT: { exit: 6, what: 'the ELF file is truncated or its headers are inconsistent' },
  ELF_INTERP: { exit: 7, what: 'the program interpreter (PT_INTERP) cannot be found or loaded' },
  EXEC_DENIED: { exit: 126, what: 'the program has no execute permission (EACCES, as execve(2) and shells report it)' },
  ENOMEM_HOST: { exit: 8, what: 'the host cannot provide the memory asked for' },
  GUEST_DEADLOCK: { exit: 9, what: 'every guest thread is blocked forever (no timeout can wake one)' },
  BAD_KERNEL: { exit: 10, what: 'the kernel file is not a RISC-V Linux kernel Image' },
  MEM_TOO_SMALL: { exit: 11, what: 'the VM memory is too small for what it must hold' },
  BAD_IMAGE: { exit: 12, what: 'a disk, initrd or firmware file is unusable' },
  DISK_READONLY: { exit: 13, what: 'a write-protected disk image was asked for read-write' },
  DISK_OPEN: { exit: 14, what: 'a disk image path is not a regular file or cannot be opened' },
  SNAPSHOT_MISMATCH: { exit: 15, what: 'saved state does not fit the machine it is restored onto' },
  VM_NOT_FOUND: { exit: 16, what: 'no VM of that name is defined on the host' },
  VM_EXISTS: { exit: 17, what: 'a VM of that name is already defined' },
  BAD_DEFINITION: { exit: 18, what: 'a VM definition is invalid (name, sizes, files)' },
  VM_STATE: { exit: 19, what: 'the verb does not fit the VM\'s current state' },
  SHUTDOWN_TIMEOUT: { exit: 20, what: 'the guest did not power off within the timeout' },
  UNAUTHORIZED: { exit: 21, what: 'the API request has no valid bearer token' },
  HOST_UNREACHABLE: { exit: 22, what: 'the rvisor host (serve) cannot be reached' },
  BAD_REQUEST: { exit: 23, what: 'an API request is malformed' },
  SNAPSHOT_FOREIGN: { exit: 24, what: 'the file is not an rvisor snapshot' },
  SNAPSHOT_CORRUPT: { exit: 25, what: 'the snapshot file is truncated or corrupt (a checksum or length does not fit)' },
  SNAPSHOT_VERSION: { exit: 26, what: 'the snapshot was written in a newer format than this rvisor reads' },
  DISK_CHANGED: { exit: 27, what: 'a disk changed since the snapshot was taken (restore with force to accept it)' },
  DISK_IN_USE: { exit: 28, what: 'a disk image is attached read-write to another running VM (or read-write here while others use it)' },
  SNAPSHOT_NOT_FOUND: { exit: 29, what: 'the VM has no checkpoint of that name' },
  SNAPSHOT_EXISTS: { exit: 30, what: 'the VM already has a checkpoint of that name' },
  MIGRATION_FAILED: { exit: 31, what: 'a live migration failed (the VM runs on at the source; the destination kept nothing)' },
  MIGRATION_CANCELLED: { exit: 32, what: 'the live migration was cancelled (the VM runs on at the source)' },
  SWAP_FAILED: { exit: 33, what: 'the VM\'s swap file could not be written or read (that VM stops; others run on)' },
  INSUFFICIENT_MEMORY: { exit: 34, what: 'the host cannot guarantee the memory reservation asked for (admission control)' },
  INTERNAL: { exit: 70, what: 'an internal error in rvisor (a bug: please report it)' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class RvisorError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'RvisorError';
  }
  get exitStatus(): number {
    return ERROR_CODES[this.code].exit;
  }
}
