// The CLINT's complete state as plain data (design rule 1). 64-bit values are decimal strings so
// that JSON round-trips them (the project's convention for saved 64-bit fields).

export interface ClintState {
  /** Number of harts the CLINT serves. */
  harts: number;
  /** msip bit (0 or 1) per hart. */
  msip: number[];
  /** mtimecmp per hart, unsigned 64-bit, decimal string. */
  mtimecmp: string[];
  /** mtime = (now() + mtimeOffset) mod 2^64, where now() is the machine's virtual tick count;
   *  signed, decimal string. Guest writes to mtime change this offset. */
  mtimeOffset: string;
}
