// The 16550A's complete state as plain data (design rule 1). Everything the device knows is here;
// save() copies it out, restore() copies it back, and JSON.stringify/parse round-trips it.

export interface UartState {
  /** Interrupt Enable Register, bits 3:0 (ERBFI, ETBEI, ELSI, EDSSI). */
  ier: number;
  /** Line Control Register (bit 7 = DLAB). */
  lcr: number;
  /** Modem Control Register, bits 4:0 (DTR, RTS, OUT1, OUT2, LOOP). */
  mcr: number;
  /** Scratch register. */
  scr: number;
  /** Divisor latch, low and high byte (baud = clock / (16 * divisor)). */
  dll: number;
  dlm: number;
  /** FIFO Control as last programmed: bit 0 FIFO enable, bit 3 DMA mode, bits 7:6 RX trigger. */
  fcr: number;
  /** Line-status error bits waiting to be read from LSR: OE (bit 1), PE, FE, BI (bits 2..4). */
  lsrErrors: number;
  /** Modem-status delta bits 3:0 (DCTS, DDSR, TERI, DDCD), cleared by reading MSR. */
  msrDelta: number;
  /** Received bytes not yet read by the guest, oldest first (at most 16; at most 1 without FIFO). */
  rx: number[];
  /** The THRE interrupt is pending (set when THR empties with ETBEI on; cleared by reading it
   *  from IIR or writing THR). */
  thrPending: boolean;
  /** Level last driven on the interrupt line. */
  irqLevel: boolean;
  /** LSR reads in a row that found the receiver empty, up to POLLING_READS (from which on the
   *  guest counts as polling for input); any other register access resets it. (restore() reads
   *  a state saved before it existed as 0.) */
  rxPolls: number;
}
