#!/usr/bin/env node
// Instruction coverage of the random streams, measured on the built binaries (GNU objdump's
// disassembly, not the generator's intent). Only the stream bodies (<body_N> .. <end_N>) count.
//
// Usage: riscv64-linux-gnu-objdump -d -M no-aliases PROG... | node coverage.mjs > coverage.txt
// Exits 1 when an expected user-level instruction never appears.

import { readFileSync } from 'node:fs';

const P = (pre, list) => list.split(/\s+/).filter(Boolean).map((m) => pre + m);
const FOPS = (p) => P('', `fmadd fmsub fnmsub fnmadd fadd fsub fmul fdiv fsqrt fsgnj fsgnjn fsgnjx fmin fmax feq flt fle fclass
  fcvt.w fcvt.wu fcvt.l fcvt.lu`).map((m) => `${m}.${p}`)
  .concat(P('', 'w wu l lu').map((i) => `fcvt.${p}.${i}`));
export const EXPECTED = {
  RV64I: P('', `lui auipc jal jalr beq bne blt bge bltu bgeu lb lh lw ld lbu lhu lwu sb sh sw sd addi slti sltiu xori ori
    andi slli srli srai add sub sll slt sltu xor srl sra or and fence fence.tso addiw slliw srliw sraiw addw subw sllw srlw sraw`),
  Zifencei: ['fence.i'],
  Zicsr: P('', 'csrrw csrrs csrrc csrrwi csrrsi csrrci'),
  M: P('', 'mul mulh mulhsu mulhu div divu rem remu mulw divw divuw remw remuw'),
  A: ['w', 'd'].flatMap((w) => P('', 'lr sc amoswap amoadd amoxor amoand amoor amomin amomax amominu amomaxu').map((m) => `${m}.${w}`)),
  F: ['flw', 'fsw', 'fmv.x.w', 'fmv.w.x', ...FOPS('s')],
  D: ['fld', 'fsd', 'fmv.x.d', 'fmv.d.x', 'fcvt.s.d', 'fcvt.d.s', ...FOPS('d')],
  C: P('', `c.addi4spn c.fld c.lw c.ld c.fsd c.sw c.sd c.nop c.addi c.addiw c.li c.addi16sp c.lui c.srli c.srai c.andi c.sub
    c.xor c.or c.and c.subw c.addw c.j c.beqz c.bnez c.slli c.fldsp c.lwsp c.ldsp c.jr c.mv c.jalr c.add c.fsdsp c.swsp c.sdsp`),
};
/** User-level instructions the streams deliberately leave out (they trap or are not deterministic). */
export const EXCLUDED = {
  ecall: 'system call: used by every program to write its records and exit, not inside streams',
  ebreak: 'raises SIGTRAP: covered by guest/ctests/signals.c',
  'c.ebreak': 'raises SIGTRAP: covered by guest/ctests/signals.c',
  'csrr cycle/time/instret': 'not deterministic across emulators',
};
const RM_OPS = /^(f(n?m(add|sub)|add|sub|mul|div|sqrt)\.[sd]|fcvt\.(w|wu|l|lu)\.[sd]|fcvt\.[sd]\.(l|lu)|fcvt\.s\.(w|wu)|fcvt\.s\.d)$/;

function main() {
  const text = readFileSync(0, 'utf8');
  const count = new Map(); const rms = new Map(); const ords = new Map();
  let inBody = false, total = 0, streams = 0;
  for (const line of text.split('\n')) {
    const h = /^[0-9a-f]+ <([^>]+)>:/.exec(line);
    if (h) { inBody = h[1].startsWith('body_'); if (inBody) streams++; continue; }
    if (!inBody) continue;
    const m = /^\s+[0-9a-f]+:\s+([0-9a-f]+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    total++;
    let [, word, mn, ops] = m;
    if (mn === '.4byte') { // exact conversions with an rm GNU objdump does not name
      const w = parseInt(word, 16); const f7 = w >>> 25, rs2 = (w >>> 20) & 31;
      if ((w & 0x7f) === 0x53 && f7 === 0x69 && rs2 <= 1) mn = rs2 ? 'fcvt.d.wu' : 'fcvt.d.w';
      else if ((w & 0x7f) === 0x53 && f7 === 0x21 && rs2 === 0) mn = 'fcvt.d.s';
      const rm = ['rne', 'rtz', 'rdn', 'rup', 'rmm', '5', '6', 'dyn'][(w >>> 12) & 7];
      rms.set(`${mn} ${rm}`, (rms.get(`${mn} ${rm}`) ?? 0) + 1);
    }
    if (mn === 'c.addi' && ops.startsWith('zero,')) mn = 'c.nop';
    const o = /^(lr|sc|amo\w+)\.([wd])(\.aq|\.rl|\.aqrl)?$/.exec(mn);
    if (o) { mn = `${o[1]}.${o[2]}`; const k = `${mn}${o[3] ?? ''}`; ords.set(k, (ords.get(k) ?? 0) + 1); }
    if (RM_OPS.test(mn)) {
      const last = ops.split(',').at(-1);
      const rm = /^(rne|rtz|rdn|rup|rmm)$/.test(last) ? last : 'dyn';
      rms.set(`${mn} ${rm}`, (rms.get(`${mn} ${rm}`) ?? 0) + 1);
    }
    count.set(mn, (count.get(mn) ?? 0) + 1);
  }
  const out = [];
  const missing = [];
  out.push(`streams: ${streams}, instructions inside stream bodies: ${total}, distinct mnemonics: ${count.size}`);
  for (const [ext, list] of Object.entries(EXPECTED)) {
    const parts = list.map((m) => { const c = count.get(m) ?? 0; if (!c) missing.push(m); return `${m} ${c}`; });
    out.push(`${ext} (${list.length}): ${parts.join(', ')}`);
  }
  const known = new Set(Object.values(EXPECTED).flat());
  const extra = [...count.keys()].filter((m) => !known.has(m));
  if (extra.length) out.push(`other: ${extra.map((m) => `${m} ${count.get(m)}`).join(', ')}`);
  const rmMissing = [];
  for (const m of [...known].filter((m) => RM_OPS.test(m)))
    for (const rm of ['rne', 'rtz', 'rdn', 'rup', 'rmm', 'dyn'])
      if (!rms.get(`${m} ${rm}`)) rmMissing.push(`${m} ${rm}`);
  out.push(`rounding modes: every rounded F/D instruction with each of rne rtz rdn rup rmm dyn: ${rmMissing.length ? 'MISSING ' + rmMissing.join(', ') : 'all present'}`);
  out.push(`exact conversions with a non-default rm field: ${[...rms].filter(([k]) => /^fcvt\.d\.(w|wu|s) /.test(k)).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const ordMissing = [];
  for (const m of [...known].filter((m) => /^(lr|sc|amo)/.test(m)))
    for (const s of ['', '.aq', '.rl', '.aqrl']) if (!ords.get(m + s)) ordMissing.push(m + s);
  out.push(`aq/rl orderings of every LR/SC/AMO: ${ordMissing.length ? 'MISSING ' + ordMissing.join(', ') : 'all present'}`);
  out.push(`not covered by design: ${Object.entries(EXCLUDED).map(([k, v]) => `${k} (${v})`).join('; ')}`);
  out.push(missing.length ? `MISSING: ${missing.join(', ')}` : 'every expected instruction is present');
  process.stdout.write(out.join('\n') + '\n');
  if (missing.length) process.exit(1);
}
if (import.meta.url === `file://${process.argv[1]}`) main();
