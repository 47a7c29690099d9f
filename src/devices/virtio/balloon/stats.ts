// The memory statistics of virtio-balloon's stats queue (virtio 1.2 §5.5.6.3): a buffer of packed
// 10-byte entries, each le16 tag then le64 value. Tags 0..9 are the spec's; Linux 6.x sends more
// (OOM kills, reclaim counters), which are kept under their number.

/** §5.5.6.3: VIRTIO_BALLOON_S_* tags, by name. */
export const BALLOON_STAT_NAMES: readonly string[] = [
  'swap_in', // 0 SWAP_IN: pages swapped in
  'swap_out', // 1 SWAP_OUT: pages swapped out
  'major_faults', // 2 MAJFLT
  'minor_faults', // 3 MINFLT
  'free_memory', // 4 MEMFREE: bytes
  'total_memory', // 5 MEMTOT: bytes
  'available_memory', // 6 AVAIL: bytes
  'disk_caches', // 7 CACHES: bytes
  'hugetlb_allocations', // 8 HTLB_PGALLOC
  'hugetlb_failures', // 9 HTLB_PGFAIL
];

export const BALLOON_STAT_SIZE = 10;
/** Most entries read from one buffer (Linux 6.12 sends 16; anything past this is ignored). */
export const BALLOON_STATS_MAX_ENTRIES = 64;

/** Tags kept (Linux 6.12 sends 0..15): others are ignored. */
export const BALLOON_STATS_MAX_TAG = 64;

/** The name a tag's value is kept under: the spec's name, or the tag number. */
export function statName(tag: number): string {
  return BALLOON_STAT_NAMES[tag] ?? String(tag);
}

/** Parses packed entries (a trailing partial entry is ignored). Values above 2^53 lose precision
 *  (they are counters and byte counts: never that large in practice). */
export function parseStats(bytes: Uint8Array): Record<string, number> {
  const out: Record<string, number> = {};
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.min(Math.floor(bytes.length / BALLOON_STAT_SIZE), BALLOON_STATS_MAX_ENTRIES);
  for (let i = 0; i < n; i++) {
    const at = i * BALLOON_STAT_SIZE;
    const tag = v.getUint16(at, true);
    if (tag >= BALLOON_STATS_MAX_TAG) continue; // a guest cannot grow the set without bound
    out[statName(tag)] = Number(v.getBigUint64(at + 2, true));
  }
  return out;
}
