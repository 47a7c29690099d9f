// Byte offsets of one hart's state inside the shared WebAssembly.Memory, relative to the hart's
// base address. This file is compiled twice: by tsc for the host side and by asc for the wasm core,
// so it holds nothing but integer constants (one source of truth for both).

/** x0..x31, 8 bytes each (x0 is kept at zero by the interpreter). */
export const HART_X = 0;
/** f0..f31, raw 64-bit patterns (single precision values are NaN-boxed). */
export const HART_F = 256;
/** Program counter of the next instruction to execute. */
export const HART_PC = 512;
/** fcsr as u32: frm in bits 7:5, fflags in bits 4:0 (RISC-V unprivileged spec, section 11.2). */
export const HART_FCSR = 520;
/** Instructions retired (u64), updated when a slice ends. */
export const HART_INSTRET = 528;
/** Exception cause of the last STOP_TRAP (RISC-V privileged spec, table 3.6 codes). */
export const HART_CAUSE = 536;
/** Trap value of the last STOP_TRAP: faulting address, or the instruction bits for cause 2. */
export const HART_TVAL = 544;
/** LR/SC reservation: guest virtual address of the reserved doubleword, or -1 when none. */
export const HART_RESERVATION = 552;
/** Value read by rdtime (u64), written by the host before each slice. */
export const HART_TIME = 560;
/** Where the block interpreter sends writes to x0 (so x0 itself is never written). */
export const HART_XSINK = 584;
/** 16 bytes where a page-crossing load is assembled. */
export const HART_SCRATCH = 592;
/** Old value read by the last CSR instruction (csr.ts). */
export const HART_CSR_OLD = 608;
/** Address (u32) of the code cache this hart runs with (see CACHE_* below): owned by the Core that
 *  made the hart and shared by all its harts. Set by Core.newHart; Hart.reset keeps it. */
export const HART_BCACHE = 616;
/** The one-entry block for an instruction on a page's last halfword (16 bytes), and an 8-byte copy
 *  of that instruction's bytes (core.ts). */
export const HART_BEDGE = 640;
export const HART_XBUF = 656;
/** The JIT for this hart (u32): instructions the interpreter runs on a page before the page is
 *  compiled; 0: the JIT is off (src/jit/). Set from the Core's or the VM's configuration. */
export const HART_JIT_THRESHOLD = 672;
/** Where a region that returned JIT_CHAIN goes on (src/jit/translate.ts): the host page (u32) and
 *  the table index (i32) of the region the run loop calls next. */
export const HART_JIT_HP = 676;
export const HART_JIT_NEXT = 680;

// ---- Privileged state (RISC-V privileged spec 1.12); used by the system VM. The process VM runs
// its harts in U-mode with these at their reset values. ----
/** Current privilege level: 0 U, 1 S, 3 M (section 1.2). */
export const HART_PRIV = 1024;
/** Behaviour flags of this hart (HF_*). */
export const HART_FLAGS = 1032;
export const HART_MSTATUS = 1040;
export const HART_MISA = 1048;
export const HART_MEDELEG = 1056;
export const HART_MIDELEG = 1064;
export const HART_MIE = 1072;
/** mip bits written by software (SSIP, STIP, SEIP through CSRs). */
export const HART_MIP = 1080;
/** mip bits driven by the host's devices (MEIP/SEIP from the PLIC, MTIP/MSIP from the CLINT, and
 *  STIP/SSIP raised by the host's SBI); the effective mip is the OR of both (section 3.1.9). */
export const HART_MIP_HOST = 1088;
export const HART_MTVEC = 1096;
export const HART_MCOUNTEREN = 1104;
export const HART_MENVCFG = 1112;
export const HART_MSCRATCH = 1120;
export const HART_MEPC = 1128;
export const HART_MCAUSE = 1136;
export const HART_MTVAL = 1144;
export const HART_STVEC = 1152;
export const HART_SCOUNTEREN = 1160;
export const HART_SENVCFG = 1168;
export const HART_SSCRATCH = 1176;
export const HART_SEPC = 1184;
export const HART_SCAUSE = 1192;
export const HART_STVAL = 1200;
export const HART_SATP = 1208;
/** Sstc's stimecmp (Sstc extension, section 2.1). */
export const HART_STIMECMP = 1216;
export const HART_MHARTID = 1224;
export const HART_MCOUNTINHIBIT = 1232;
/** pmpcfg0..pmpcfg15 (only even ones exist on RV64) and pmpaddr0..63: stored, not enforced. */
export const HART_PMPCFG = 1280;
export const HART_PMPADDR = 1408;
/** Guest-physical RAM of the VM this hart belongs to: address of its P2M (u32 per 4 KiB page:
 *  P2M_* below; 0 when not yet backed), RAM base and size in bytes. */
export const HART_P2M = 1920;
export const HART_RAM_BASE = 1928;
export const HART_RAM_SIZE = 1936;
/** A system VM's P2M entry: the backing frame's number (host offset >> 12; an arena is at most
 *  4 GiB, so 20 bits) and flags above it. P2M_WP: a write must ask the host first (the frame may
 *  be shared copy-on-write, or the page's writes are being logged); the host clears it. P2M_DIRTY:
 *  the host cleared P2M_WP for a write since the dirty log last looked (the core never reads it). */
export const P2M_FRAME_MASK = 0xfffff;
export const P2M_WP = 0x80000000;
export const P2M_DIRTY = 0x40000000;
/** The page was used (the core sets it whenever it maps the page for an access; GuestRam.frame
 *  too): the memory manager's recency bit (hypervisor swap picks pages without it, issue #9). */
export const P2M_ACCESSED = 0x20000000;
/** The following mark a page with no frame (frame bits 0), saying why, for accounting: its
 *  content is in the VM's swap file at page index × 4096 (the next touch reads it back)... */
export const P2M_SWAPPED = 0x10000000;
/** ...the guest's balloon driver gave it back (demand-zero if touched again)... */
export const P2M_BALLOONED = 0x08000000;
/** ...or the page-sharing scanner found it all zero and dropped its frame (demand-zero). */
export const P2M_ZERO = 0x04000000;
/** Physical address of the MMIO access in progress (for the host's MMIO handler). */
export const HART_MMIO_PA = 1952;
/** minstret and mcycle are the retired-instruction count (HART_INSTRET) plus these offsets;
 *  while mcountinhibit stops one, its value is held in the FROZEN field (section 3.1.13). */
export const HART_MINSTRET_OFF = 1960;
export const HART_MCYCLE_OFF = 1968;
export const HART_MINSTRET_FROZEN = 1976;
export const HART_MCYCLE_FROZEN = 1984;

/** HART_FLAGS bits. */
export const HF_SYSTEM = 1; // traps are taken inside the hart (else every trap stops the run)
export const HF_HOST_SBI = 2; // an ecall from S-mode stops the run: the host implements the SBI

/** mstatus fields (privileged spec section 3.1.6). */
export const MSTATUS_SIE = 1 << 1;
export const MSTATUS_MIE = 1 << 3;
export const MSTATUS_SPIE = 1 << 5;
export const MSTATUS_MPIE = 1 << 7;
export const MSTATUS_SPP = 1 << 8;
export const MSTATUS_MPP_SHIFT = 11;
export const MSTATUS_FS_SHIFT = 13;
export const MSTATUS_MPRV = 1 << 17;
export const MSTATUS_SUM = 1 << 18;
export const MSTATUS_MXR = 1 << 19;
export const MSTATUS_TVM = 1 << 20;
export const MSTATUS_TW = 1 << 21;
export const MSTATUS_TSR = 1 << 22;

/** Interrupt numbers (mip/mie bits, section 3.1.9). */
export const IRQ_SSI = 1;
export const IRQ_MSI = 3;
export const IRQ_STI = 5;
export const IRQ_MTI = 7;
export const IRQ_SEI = 9;
export const IRQ_MEI = 11;

/** Software TLB: TLB_ENTRIES direct-mapped entries of TLB_ENTRY_SIZE bytes. */
export const HART_TLB = 4096;
export const TLB_ENTRIES = 2048;
export const TLB_ENTRY_SIZE = 32;
/** Within an entry: guest page numbers valid for read, write and execute (or -1), then the addend
 *  that turns a guest virtual address on that page into a host address. */
export const TLB_TAG_R = 0;
export const TLB_TAG_W = 8;
export const TLB_TAG_X = 16;
export const TLB_ADDEND = 24;

/** Total bytes reserved per hart (a multiple of 4096): the state above and the TLB. */
export const HART_SIZE = (HART_TLB + TLB_ENTRIES * TLB_ENTRY_SIZE + 4095) & ~4095;

// ---- The code cache: one region per Core instance (allocated by Core, found through each hart's
// HART_BCACHE), shared by every hart that instance runs. Harts run one at a time on an instance,
// and nothing in it depends on a hart or an address space (see below), so harts of different
// processes or with different satp/ASIDs share it safely. Offsets are relative to its base. ----

/** Bookkeeping: the next free arena unit (u32) and the check epoch (u32, see below). */
export const CACHE_BNEXT = 0;
export const CACHE_EPOCH = 4;
/** While a hart with the JIT on runs (core.ts run()): the instructions run minus CACHE_JIT_INSNS
 *  at the last hotness sample (i64), and the slice's budget (i32, at CACHE_JIT_BUDGET). */
export const CACHE_JIT_MARK = 8;
/** The JIT's counters (u64) for --stats: regions entered, instructions they retired, entries at
 *  offsets a region has no code for, byte checks (src/jit/). */
export const CACHE_JIT_ENTERS = 16;
export const CACHE_JIT_INSNS = 24;
export const CACHE_JIT_MISSES = 32;
export const CACHE_JIT_CHECKS = 40;
/** Instructions run by the harts with the JIT on (u64, interpreted or in regions): what pays
 *  for compilation (the JIT's compile budget, src/jit/jit.ts). */
export const CACHE_JIT_RUN = 48;
/** How hot a page must be to be compiled, relative to everything the harts run (u32, set by the
 *  host): it must reach the threshold within JIT_DENSITY times the threshold instructions run
 *  in all (0: no such condition), else its count starts over. */
export const CACHE_JIT_DENSITY = 56;
export const CACHE_JIT_BUDGET = 60;
/** Regions entered from another page's region (JIT_CHAIN) rather than the run loop's lookup (u64,
 *  for --stats). */
export const CACHE_JIT_CHAINS = 64;
/** How long a compiled page keeps its JITMAP slot against other pages hashing to it
 *  (instructions they run in the interpreter meanwhile; renewed each time its region is entered). */
export const JIT_HOLD = 1 << 20;

/** Decoded-instruction cache: DCACHE_ENTRIES direct-mapped entries of 16 bytes, keyed by the raw
 *  instruction bits (u32; a 16-bit instruction zero-extended): the entry a block (below) gets for
 *  that instruction, less its position (core.ts). Decoding is a pure function of the bits, so it
 *  never needs invalidation. All-zero memory is an empty cache (the word 0 is never looked up). */
export const CACHE_DCACHE = 4096;
export const DCACHE_ENTRIES = 8192;
export const DCACHE_ENTRY_SIZE = 16;

/** Block cache of the interpreter (core.ts): BLOCK_SLOTS direct-mapped headers of 16 bytes,
 *  indexed by pc: u32 host address of the block's first instruction at its last check against
 *  memory (0: empty) and u32 epoch of that check, u32 byte offset of the block in the arena (a
 *  multiple of 16; bit 0 set: the JIT tracks the block's page, jit-track.ts jit_tracks), u16
 *  entry count, u16 length in bytes. Then an arena of BLOCK_ARENA 16-byte units, filled by bump
 *  allocation (a block's entries, then a copy of its bytes) and emptied, with every header, at
 *  once when full. Then a bitmap of host frames (frame number modulo CODEMAP_BITS) holding blocks
 *  checked in the current epoch.
 *  A block is a function of its bytes and its offset in the page only (everything pc-relative is
 *  relative to the block's start and register operands are offsets into whichever hart runs it),
 *  so it is independent of the hart, the address space and the pc it was built for. It is checked
 *  against memory (its bytes compared with the copy) when entered from another host address or at
 *  an epoch other than its last check's, and then marks its frame in the bitmap. A guest store to
 *  a marked frame (by any hart of the instance), and whatever the host may write guest memory
 *  through (the start of run(), TLB misses, slow loads and stores, device access, fence.i), start
 *  a new epoch. So a block runs without a check only at the host address where its bytes were
 *  found in the current epoch, and those bytes cannot have changed since: it is the code at that
 *  address, whichever hart or address space reaches it. The cache never needs invalidating by
 *  the host: self-modifying code, remapped pages and host writes all just work. All-zero memory
 *  is a valid empty cache. */
export const CACHE_BHEAD = CACHE_DCACHE + DCACHE_ENTRIES * DCACHE_ENTRY_SIZE;
export const BLOCK_SLOTS = 16384;
export const BLOCK_HEAD_SIZE = 16;
export const CACHE_BARENA = CACHE_BHEAD + BLOCK_SLOTS * BLOCK_HEAD_SIZE;
export const BLOCK_ARENA = 65536;
export const BLOCK_ENTRY_SIZE = 16;
/** Most entries in one block. */
export const BLOCK_MAX = 32;
export const CACHE_CODEMAP = CACHE_BARENA + BLOCK_ARENA * BLOCK_ENTRY_SIZE;
export const CODEMAP_BITS = 262144;

/** The JIT's page map: JITMAP_SLOTS direct-mapped slots of 16 bytes, indexed by host frame
 *  number: u32 host address of the page (0: empty), i32 index of its region in the function
 *  table (0: none yet), u32 epoch of the region's last byte check, i32 hotness counter (while
 *  there is no region: instructions the interpreter ran on the page; with one: how long it
 *  resists eviction by another page hashing to the slot). A region is a function of its bytes,
 *  checked like a block (above): when entered in an epoch other than its last check's. */
export const CACHE_JITMAP = CACHE_CODEMAP + CODEMAP_BITS / 8;
export const JITMAP_SLOTS = 4096;
export const JITMAP_ENTRY_SIZE = 16;
/** Per JITMAP slot, a bitmap of the page's halfwords where the interpreter started a block (or a
 *  region was entered without code there) since the slot took the page: the entries the page is
 *  compiled with. */
export const CACHE_JITSEEN = CACHE_JITMAP + JITMAP_SLOTS * JITMAP_ENTRY_SIZE;
export const JITSEEN_BYTES = 256;
/** Per JITMAP slot, a u32: the low bits of CACHE_JIT_RUN when the page's count started (how fast
 *  it gets hot: CACHE_JIT_DENSITY). */
export const CACHE_JITSTAMP = CACHE_JITSEEN + JITMAP_SLOTS * JITSEEN_BYTES;

/** Per JITMAP slot, a bitmap of the page's halfwords its region has code for (written by the
 *  host with the region, src/jit/jit.ts): the run loop enters the region only there, and counts
 *  any other offset as a miss without calling it. */
export const CACHE_JITENTRY = CACHE_JITSTAMP + JITMAP_SLOTS * 4;

/** Per JITMAP slot, a bitmap of the page's halfwords its region jumped to without code there (a
 *  branch's or computed jump's target, JIT_MISS): entries of its next compilation even inside
 *  another entry's straight run (src/jit/translate.ts discoverEntries), and the core tells the
 *  host of each once, even while it skips misses. */
export const CACHE_JITJUMP = CACHE_JITENTRY + JITMAP_SLOTS * JITSEEN_BYTES;

/** Per JITMAP slot, a u32: the instructions of the distinct blocks the interpreter entered on
 *  the page while it was last profiled (src/cpu/as/jit-track.ts), what its region is likely to
 *  hold: the host's estimate of what compiling the page costs (src/jit/jit.ts compile). */
export const CACHE_JITSIZE = CACHE_JITJUMP + JITMAP_SLOTS * JITSEEN_BYTES;

/** Total bytes of one code cache (a multiple of 4096). */
export const CACHE_SIZE = (CACHE_JITSIZE + JITMAP_SLOTS * 4 + 4095) & ~4095;

/** Access kinds passed to the host's TLB-miss handler. */
export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_EXEC = 2;

/** Why run() returned. */
export const STOP_BUDGET = 0;
/** A synchronous exception the host must handle (every trap of a process-VM hart; an S-mode ecall
 *  with HF_HOST_SBI): cause and tval are in HART_CAUSE/HART_TVAL, pc is the trapping pc. */
export const STOP_TRAP = 1;
/** The hart executed WFI with no interrupt pending; pc is past the WFI. */
export const STOP_WFI = 2;

/** Why a JIT region returned (the low 4 bits of its result; src/jit/translate.ts): at a pc to go
 *  on from (left the page, budget, an instruction for the interpreter)... */
export const JIT_OK = 0;
/** ...a trap recorded at the faulting instruction's pc... */
export const JIT_TRAP = 1;
/** ...entered at an offset it has no code for (nothing done)... */
export const JIT_MISS = 2;
/** ...after a slow memory access or a store to code (the fetch translation and the code must be
 *  checked again)... */
export const JIT_REFETCH = 3;
/** ...its bytes differ from the page's now (nothing done: drop it)... */
export const JIT_STALE = 4;
/** ...or the instruction at pc is for the interpreter (a TLB miss, a store to a code frame, an FP
 *  access with mstatus.FS not Dirty, a system instruction): the run loop runs the block there. */
export const JIT_SLOW = 5;
/** ...or it left the page for a page whose region can be entered at pc (chained, translate.ts):
 *  that region's table index is in HART_JIT_NEXT and its page in HART_JIT_HP. */
export const JIT_CHAIN = 6;

/** Exception causes (RISC-V privileged spec 1.12, section 3.1.15, table 3.6). */
export const CAUSE_MISALIGNED_FETCH = 0;
export const CAUSE_FETCH_ACCESS = 1;
export const CAUSE_ILLEGAL_INSTRUCTION = 2;
export const CAUSE_BREAKPOINT = 3;
export const CAUSE_MISALIGNED_LOAD = 4;
export const CAUSE_LOAD_ACCESS = 5;
export const CAUSE_MISALIGNED_STORE = 6;
export const CAUSE_STORE_ACCESS = 7;
export const CAUSE_ECALL_U = 8;
export const CAUSE_ECALL_S = 9;
export const CAUSE_ECALL_M = 11;
export const CAUSE_FETCH_PAGE_FAULT = 12;
export const CAUSE_LOAD_PAGE_FAULT = 13;
export const CAUSE_STORE_PAGE_FAULT = 15;

/** fflags bits (unprivileged spec, section 11.2, table 11.2). */
export const FFLAG_NX = 1;
export const FFLAG_UF = 2;
export const FFLAG_OF = 4;
export const FFLAG_DZ = 8;
export const FFLAG_NV = 16;

/** Layout of the shared memory: the first MEM_RESERVED bytes hold the wasm module's static data
 *  and hart regions; guest frames are allocated above it. */
export const MEM_STATIC_END = 65536;
export const MEM_HARTS_BASE = 65536;
export const MEM_RESERVED = 32 * 1048576; // room for 480 harts of HART_SIZE; more come from the frame pool
export const PAGE_SIZE = 4096;
