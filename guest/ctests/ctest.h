// Shared declarations for the ctest multi-call binary.
#ifndef CTEST_H
#define CTEST_H
#include <stdint.h>
#include <stddef.h>

#define CTESTS(X) X(intarith) X(fpformat) X(mathfn) X(strmem) X(qsort) X(setjmp) X(fileio) \
  X(process) X(mem) X(timeuname) X(exit42) X(stderr) X(wc) X(threads) X(signals) X(segv) X(abort) \
  X(sigterm) X(threadexit) X(jit) X(jitsmc) X(hostexec) X(locks) X(fsmeta) X(filecalls) X(newcalls) \
  X(timerfd) X(signalfd) X(memfd) X(pidfd) X(fdlinux) X(inotify) X(shmfile) X(pshared) X(robust) \
  X(busyexit) X(procfs) X(rusage) X(creds) X(prctl) X(unixsock) X(inetsock) X(unixlinux) X(pty) \
  X(jobctl) X(pifutex) X(netlink) X(netlinklinux) X(netlinkshow) X(longcwd) X(pipesz) X(fifo) \
  X(sockopts) X(sockedge) X(rawsock) X(dac)
#define DECL(n) int t_##n(int argc, char **argv);
CTESTS(DECL)
#undef DECL

extern const char *ctest_argv0;

/** 64-bit FNV-1a over bytes, chained. */
static inline uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ULL; }
  return h;
}
#define FNV0 0xcbf29ce484222325ULL
static inline uint64_t fnv64(uint64_t h, uint64_t v) { return fnv(h, &v, sizeof v); }
#endif
