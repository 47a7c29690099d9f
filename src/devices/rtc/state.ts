// The goldfish RTC's complete state as plain data (design rule 1). 64-bit values are decimal
// strings so that JSON round-trips them (the project's convention for saved 64-bit fields).

export interface GoldfishRtcState {
  /** Guest time = wallNs() + offsetNs (signed ns, decimal string). Guest writes of TIME_LOW /
   *  TIME_HIGH (Linux's set_time) change it. */
  offsetNs: string;
  /** TIME_HIGH as latched by the last TIME_LOW read. */
  timeHigh: number;
  /** Alarm time in guest ns (unsigned 64-bit, decimal string): ALARM_HIGH writes its high half,
   *  ALARM_LOW its low half and arms it. */
  alarmNs: string;
  /** The alarm is armed and has not fired (ALARM_STATUS). */
  alarmRunning: boolean;
  /** The alarm fired and the guest has not written CLEAR_INTERRUPT. */
  irqPending: boolean;
  /** IRQ_ENABLED. */
  irqEnabled: boolean;
}
