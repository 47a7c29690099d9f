// The SiFive test device keeps no state of its own: every write is a command acted on at once.
// The type exists so the device has the same save()/restore() shape as every other (design rule 1).

export interface SysconState {
  /** Always 1: the version of this (empty) state. */
  version: 1;
}
