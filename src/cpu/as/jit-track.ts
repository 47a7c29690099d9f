// The JIT's side of the run loop (core.ts run()): which pages it follows, how hot the others are
// (sampled), the profiling of a hot page's entries and the calls to the host's compiler
// (src/jit/jit.ts). Layout of its state: layout.ts CACHE_JIT*, CACHE_JITMAP and after.
import {
  CACHE_BHEAD, BLOCK_SLOTS, BLOCK_HEAD_SIZE, CACHE_EPOCH, CACHE_JITMAP, JITMAP_SLOTS,
  CACHE_JIT_INSNS, CACHE_JIT_MISSES, CACHE_JIT_RUN, CACHE_JIT_MARK, CACHE_JIT_BUDGET, CACHE_JIT_DENSITY, CACHE_JITSTAMP,
  CACHE_JITSEEN, CACHE_JITJUMP, CACHE_JITSIZE, JITSEEN_BYTES, JIT_HOLD,
} from '../layout';
import { mark_code } from './mem';

// ---- the JIT (src/jit/): the host compiles a hot page into a region, a wasm function in the
// imported table, and the page's JITMAP slot (layout.ts) names it ----
/** Compiles the page at host address hp for an entry at pc; returns the region's table index, or
 *  0 when nothing on the page can be compiled. */
@external("env", "jit_compile")
declare function jit_compile(h: usize, pc: u64, hp: usize): i32;
/** A region was entered (or, jumped: jumped within itself) at pc, an offset it has no code for:
 *  returns a region (table index) for the page with that entry, 0 to keep the old one, or -n to
 *  keep it and skip reporting the page's next n misses (jit_missed). */
@external("env", "jit_miss")
declare function jit_miss(h: usize, pc: u64, hp: usize, fn: i32, jumped: bool): i32;
/** The region at table index fn is no longer named by a slot (stale: because its page's bytes
 *  changed). */
@external("env", "jit_drop")
export declare function jit_drop(fn: i32, stale: bool): void;


@inline export function jit_slot(c: usize, hp: usize): usize {
  return c + CACHE_JITMAP + (((hp >> 12) & (JITMAP_SLOTS - 1)) << 4);
}

/** Sets pc's bit in the per-slot bitmap at `map` (CACHE_JITSEEN, CACHE_JITJUMP) of slot s;
 *  returns whether it was set already. */
@inline function jit_mark(c: usize, map: usize, s: usize, pc: u64): bool {
  const m = c + map + ((s - (c + CACHE_JITMAP)) << 4) + <usize>((<u32>pc & 0xfff) >> 4);
  const bit = <u8>(<u32>1 << ((<u32>pc >> 1) & 7));
  const v = load<u8>(m);
  store<u8>(m, v | bit);
  return (v & bit) != 0;
}

/** Slot s's CACHE_JITSIZE word: the instructions of the distinct blocks its page's profile saw. */
@inline function jit_size(c: usize, s: usize): usize {
  return c + CACHE_JITSIZE + ((s - (c + CACHE_JITMAP)) >> 2);
}

/** Records that code at pc was entered on the page of slot s (a seed for its compilation). */
@inline function jit_seen(c: usize, s: usize, pc: u64): void {
  jit_mark(c, CACHE_JITSEEN, s, pc);
}

/** A page that reached the threshold is profiled for this many more instructions (at most the
 *  threshold): only the blocks the interpreter enters meanwhile, the page's code that is hot now,
 *  become the region's entries (its cold start-up code is left out, which keeps regions small and
 *  V8's compiles cheap). */
const JIT_WINDOW: i32 = 16384;
/** A slot's fn while its page is being profiled (no region yet). */
const JIT_PROFILING: i32 = -1;

/** The interpreter ran cnt instructions at pc (host address hp) on a page with no region: counts
 *  them toward the page's compilation (threshold th), then profiles which blocks of it are hot
 *  (JIT_WINDOW) and compiles the page with those as entries. Called for each block of a page the
 *  JIT tracks (jit_tracks), and with sample set where run() ends, for the page it ended on with the
 *  instructions the slice interpreted: only the count, no profiling or compiling then. */
export function jit_count(h: usize, c: usize, pc: u64, hp: usize, cnt: i32, th: i32, now: u32, sample: bool): void {
  const s = jit_slot(c, hp);
  const page = <u32>hp & ~0xfff;
  let fn = load<i32>(s, 4);
  let k = load<i32>(s, 12);
  if (sample && th <= 1) return; // every page is tracked
  if (load<u32>(s) != page) {
    // another page's slot: a compiled page resists for a while, then yields
    if (fn > 0 && k - cnt > 0) { store<i32>(s, k - cnt, 12); return; }
    if (fn > 0) jit_drop(fn, false);
    store<u32>(s, page);
    store<i32>(s, 0, 4);
    fn = 0;
    memory.fill(c + CACHE_JITSEEN + ((s - (c + CACHE_JITMAP)) << 4), 0, JITSEEN_BYTES);
    memory.fill(c + CACHE_JITJUMP + ((s - (c + CACHE_JITMAP)) << 4), 0, JITSEEN_BYTES);
    store<u32>(jit_size(c, s), 0);
    k = 0;
  } else if (fn > 0 || (sample && fn != 0)) return;
  k += cnt;
  if (fn == 0 && th > 1) {
    // counting: when hot, forget where it was entered and start profiling; unless it took too
    // long to get hot (a page that runs a little at a time, as a boot's code: not worth a compile)
    const stamp = c + CACHE_JITSTAMP + ((s - (c + CACHE_JITMAP)) >> 2);
    if (k <= cnt) store<u32>(stamp, now); // the count (re)starts
    if (k < th) { store<i32>(s, k, 12); return; }
    const density = load<u32>(c + CACHE_JIT_DENSITY);
    if (density != 0 && <u64>(now - load<u32>(stamp)) > <u64>th * <u64>density) { store<i32>(s, 0, 12); return; }
    memory.fill(c + CACHE_JITSEEN + ((s - (c + CACHE_JITMAP)) << 4), 0, JITSEEN_BYTES);
    memory.fill(c + CACHE_JITJUMP + ((s - (c + CACHE_JITMAP)) << 4), 0, JITSEEN_BYTES);
    store<i32>(s, JIT_PROFILING, 4);
    store<i32>(s, 0, 12);
    store<u32>(jit_size(c, s), 0);
    jit_flag_page(c, page);
    return;
  }
  // a block entered for the first time in this profile: its instructions count toward the size
  if (!jit_mark(c, CACHE_JITSEEN, s, pc)) store<u32>(jit_size(c, s), load<u32>(jit_size(c, s)) + <u32>cnt);
  const window = th < JIT_WINDOW ? th : JIT_WINDOW;
  if (k < window) { store<i32>(s, k, 12); return; }
  const nf = jit_compile(h, pc, <usize>page);
  store<i32>(s, nf, 4);
  store<u32>(c + CACHE_JITSTAMP + ((s - (c + CACHE_JITMAP)) >> 2), 0); // (misses not to report: none)
  store<u32>(s, load<u32>(c + CACHE_EPOCH), 8); // compiled from the bytes there now
  store<i32>(s, nf > 0 ? JIT_HOLD : -(th < 0x100000 ? th << 3 : 0x7fffffff), 12); // else back off
  if (nf > 0) mark_code(c, <usize>page);
}

/** How often (instructions run) the JIT samples which page a hart is on, for the pages it does
 *  not track block by block (jit_tracks): their hotness is the instructions interpreted between
 *  samples, credited to the page each sample finds the hart on. At most the threshold th apart,
 *  so a page that runs th instructions in all is expected to reach it. */
const JIT_SAMPLE: i32 = 4096;
@inline export function sample_every(th: i32): i32 {
  return th < JIT_SAMPLE ? th : JIT_SAMPLE;
}

/** A hotness sample of hart h (run()'s state: n instructions run in this slice, the fetch page
 *  fvpn and its host addend fadd): credits the instructions interpreted since the last sample to
 *  the page at pc. */
export function jit_sample(h: usize, c: usize, pc: u64, fvpn: u64, fadd: u64, n: i32, jth: i32): void {
  const m = <i64>n - <i64>load<u64>(c + CACHE_JIT_INSNS);
  const interp = m - load<i64>(c + CACHE_JIT_MARK);
  store<i64>(c + CACHE_JIT_MARK, m);
  if ((pc >> 12) != fvpn || interp <= 0 || (<u32>pc & 0xfff) >= 0xffe) return;
  jit_count(h, c, pc, <usize>(pc + fadd), <i32>interp, jth, <u32>load<u64>(c + CACHE_JIT_RUN) + <u32>n, true);
}

/** How many of a block's cnt entries run when run()'s budget (lowered to the next sample point)
 *  would cut it: as many as the slice's real budget allows, so a sample point never splits a
 *  block (run() samples after it). */
export function block_cut(c: usize, n: i32, cnt: u32): u32 {
  const left = <u32>(load<i32>(c + CACHE_JIT_BUDGET) - n);
  return left < cnt ? left : cnt;
}

/** Marks the block headers of the page at host address page as followed by the JIT (BLOCK_JIT):
 *  its blocks in the cache now, rather than at their next check. */
function jit_flag_page(c: usize, page: u32): void {
  for (let s = c + CACHE_BHEAD, end = s + BLOCK_SLOTS * BLOCK_HEAD_SIZE; s < end; s += BLOCK_HEAD_SIZE) {
    if ((load<u32>(s) & ~0xfff) == page) store<u32>(s, load<u32>(s, 8) | BLOCK_JIT, 8);
  }
}

/** The region fn of slot js (page at host address page) has no code at pc: counts the miss and
 *  asks the host for a region with that entry, unless the slot says to skip this miss (while the
 *  region exists, its JITSTAMP word counts misses not to report: jit_miss returned -n). jumped:
 *  the region jumped there (a computed jump, as a switch's), so pc is a place control goes to,
 *  not only where the interpreter happened to resume: the host is told of each such offset once,
 *  skipping or not. Returns whether the interpreter runs the block at pc (no new region). */
export function jit_missed(h: usize, c: usize, js: usize, pc: u64, page: u32, fn: i32, jumped: bool): bool {
  store<u64>(c + CACHE_JIT_MISSES, load<u64>(c + CACHE_JIT_MISSES) + 1);
  jit_seen(c, js, pc);
  const first = jumped && !jit_mark(c, CACHE_JITJUMP, js, pc);
  const skip = c + CACHE_JITSTAMP + ((js - (c + CACHE_JITMAP)) >> 2);
  const sk = load<u32>(skip);
  if (sk != 0 && !first) { store<u32>(skip, sk - 1); return true; }
  const nf = jit_miss(h, pc, <usize>page, fn, jumped);
  if (nf < 0) store<u32>(skip, <u32>(-nf));
  if (nf > 0 && nf != fn) {
    store<i32>(js, nf, 4);
    store<u32>(js, load<u32>(c + CACHE_EPOCH), 8); // compiled from the bytes there now
    jit_drop(fn, false);
  }
  return nf <= 0;
}

/** Bit 0 of a block header's arena offset (layout.ts; offsets are multiples of 16): the JIT
 *  follows the block's page, so the run loop looks at the page's JITMAP slot before running it. */
export const BLOCK_JIT: u32 = 1;

/** Whether the JIT follows the page at host address hp closely, block by block (for a hart with
 *  threshold jth): it has a region or is being profiled, or every page is (threshold 1). Other
 *  pages' hotness is sampled (jit_sample, every sample_every(jth) instructions). */
@inline export function jit_tracks(c: usize, hp: usize, jth: i32): bool {
  if (jth <= 1) return jth == 1;
  const s = jit_slot(c, hp);
  return load<u32>(s) == (<u32>hp & ~0xfff) && load<i32>(s, 4) != 0;
}


/** Where a block the interpreter runs instead of a region (after a miss or a JIT_SLOW exit; eb:
 *  the region's entry bitmap, CACHE_JITENTRY) should end: before its first instruction after the
 *  first at which the region has an entry, so the region takes over there. (The interpreter's
 *  blocks run through untaken branches for up to BLOCK_MAX instructions, and would otherwise end
 *  at offsets the region has no entry for, missing again block after block.) */
export function jit_cut(eb: usize, pc: u64, e: usize, eend: usize): usize {
  for (let x = e + 16; x < eend; x += 16) {
    const o = (<u32>pc + <u32>load<u16>(x, 14)) & 0xfff;
    if ((load<u8>(eb + <usize>(o >> 4)) & (1 << ((o >> 1) & 7))) != 0) return x;
  }
  return eend;
}
