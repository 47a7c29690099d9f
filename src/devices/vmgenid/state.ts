// The VM generation ID device's complete state as plain data (design rule 1).

export interface VmGenIdState {
  /** The current generation ID: 16 bytes (0..255), in the order the guest reads them at offsets
   *  0..15 of the device. */
  guid: number[];
}
