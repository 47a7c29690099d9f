# Entry, trap entry/exit and privilege-switch helpers of the bare-metal runtime.
# Every hart enters _start in M-mode with a0 = hartid, a1 = device tree.
#define FRAME 272
  .section .text.start, "ax"
  .globl _start
_start:
  .option push
  .option norelax
  csrw mie, zero
  csrw mstatus, zero
  # stack: 8 KiB per hart below __stacks_end; M trap stack: 4 KiB per hart
  lla sp, __stacks_end
  slli t0, a0, 13
  sub sp, sp, t0
  lla t1, __tstacks_end
  slli t0, a0, 12
  sub t1, t1, t0
  csrw mscratch, t1
  # PMP entry 0: NAPOT over the whole address space, RWX, so S and U may access memory
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
  lla t0, m_trap_entry
  csrw mtvec, t0
  # FS = Initial so the compiler's code may touch FP state
  li t0, 0x2000
  csrs mstatus, t0
  mv s0, a0
  mv s1, a1
  bnez a0, 2f
  # hart 0 clears .bss, then releases the others
  lla t0, __bss_start
  lla t1, __bss_end
1:bgeu t0, t1, 3f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
3:fence rw, rw
  lla t0, boot_released
  li t1, 1
  sw t1, 0(t0)
  j 4f
2:lla t0, boot_released
5:lw t1, 0(t0)
  beqz t1, 5b
  fence rw, rw
4:mv a0, s0
  mv a1, s1
  call rt_main
  j poweroff
  .option pop

  .data
  .align 3
boot_released: .word 0
  .text

# ---- M-mode trap entry: frame of 32 regs on the per-hart trap stack (mscratch) ----
  .align 6
  .globl m_trap_entry
m_trap_entry:
  csrrw sp, mscratch, sp
  addi sp, sp, -FRAME
  .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  sd x\r, \r*8(sp)
  .endr
  csrr t0, mscratch
  sd t0, 16(sp)
  addi t0, sp, FRAME
  csrw mscratch, t0
  mv a0, sp
  call m_trap_c
  bnez a0, m_exit_lower
  .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  ld x\r, \r*8(sp)
  .endr
  ld sp, 16(sp)
  mret

# ---- vectored M table: slot n (base + 4n) records n in vec_slot, then joins m_trap_entry ----
  .align 8
  .globl m_vec_table
m_vec_table:
  .option push
  .option norvc
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  j m_vslot\n
  .endr
  .option pop
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
m_vslot\n:
  csrrw sp, mscratch, sp
  sd t0, -8(sp)
  sd t1, -16(sp)
  li t0, \n
  lla t1, vec_slot
  sd t0, 0(t1)
  ld t0, -8(sp)
  ld t1, -16(sp)
  csrrw sp, mscratch, sp
  j m_trap_entry
  .endr

# ---- leave a lower mode: restore the M context saved by enter_mode, return a1 of the ecall ----
m_exit_lower:
  ld a0, 88(sp)              # frame a1
  li a7, 0
  lla t0, mctx
  ld ra, 0(t0)
  ld sp, 8(t0)
  ld s0, 16(t0)
  ld s1, 24(t0)
  ld s2, 32(t0)
  ld s3, 40(t0)
  ld s4, 48(t0)
  ld s5, 56(t0)
  ld s6, 64(t0)
  ld s7, 72(t0)
  ld s8, 80(t0)
  ld s9, 88(t0)
  ld s10, 96(t0)
  ld s11, 104(t0)
  # the trap stack pointer: back to the top
  csrr t1, mhartid
  lla t2, __tstacks_end
  slli t1, t1, 12
  sub t2, t2, t1
  csrw mscratch, t2
  ret

# long enter_mode(long mode, void *fn, long arg, long sp, long ra_off)
# Runs fn(arg) in mode (0 U, 1 S, 3 M via mret); fn returns through lower_exit (ecall EXIT).
  .globl enter_mode
enter_mode:
  lla t0, mctx
  sd ra, 0(t0)
  sd sp, 8(t0)
  sd s0, 16(t0)
  sd s1, 24(t0)
  sd s2, 32(t0)
  sd s3, 40(t0)
  sd s4, 48(t0)
  sd s5, 56(t0)
  sd s6, 64(t0)
  sd s7, 72(t0)
  sd s8, 80(t0)
  sd s9, 88(t0)
  sd s10, 96(t0)
  sd s11, 104(t0)
  li t1, 0x1800
  csrc mstatus, t1
  slli t2, a0, 11
  csrs mstatus, t2
  csrw mepc, a1
  mv a0, a2
  beqz a3, 1f
  mv sp, a3
1:lla ra, lower_exit
  add ra, ra, a4
  mret
  .globl lower_exit
lower_exit:
  mv a1, a0
  li a7, 0x45584954          # "EXIT"
  ecall
  j .

# ---- S-mode trap entry (stvec), same frame layout on the S trap stack (sscratch) ----
  .align 6
  .globl s_trap_entry
s_trap_entry:
  csrrw sp, sscratch, sp
  addi sp, sp, -FRAME
  .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  sd x\r, \r*8(sp)
  .endr
  csrr t0, sscratch
  sd t0, 16(sp)
  addi t0, sp, FRAME
  csrw sscratch, t0
  mv a0, sp
  call s_trap_c
  bnez a0, s_exit_lower
  .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  ld x\r, \r*8(sp)
  .endr
  ld sp, 16(sp)
  sret
s_exit_lower:
  # a lower mode asked to exit and the ecall came here: forward it to M with an ecall, or with an
  # ebreak when ecalls from S are delegated too (this was one)
  ld a1, 88(sp)
  li a7, 0x45584954
  csrr t0, scause
  li t1, 9
  beq t0, t1, 1f
  ecall
  j .
1:ebreak
  j .

  .bss
  .align 3
  .globl mctx
mctx: .space 112
  .globl vec_slot
vec_slot: .space 8
