// The PLIC's complete state as plain data (design rule 1). Bit sets are arrays of 32-bit words,
// bit (s % 32) of word (s >> 5) standing for source s; all numbers, so JSON round-trips it.

export interface PlicState {
  /** Highest source number (sources are 1..numSources; 0 means "no interrupt"). */
  numSources: number;
  /** Number of contexts (hart h: context 2h = M-mode, 2h + 1 = S-mode on this board). */
  contexts: number;
  /** Priority per source, index 0..numSources (index 0 is always 0). */
  priority: number[];
  /** Level of each source's interrupt line as last driven by its device (gateway input). */
  level: number[];
  /** Pending bits (the PLIC core's IP bits). */
  pending: number[];
  /** Sources claimed and not yet completed (gateway "in service": no new request until complete). */
  inService: number[];
  /** Per context: enable bits. */
  enable: number[][];
  /** Per context: priority threshold. */
  threshold: number[];
  /** Per context: whether an interrupt was last reported pending (the EIP output). */
  eip: boolean[];
}
