// wc-like filter over stdin: bytes, words, lines, longest line, checksum; then echoes a summary.
#include <stdio.h>
#include <ctype.h>
#include <unistd.h>
#include "ctest.h"

int t_wc(int argc, char **argv) {
  (void)argc; (void)argv;
  long bytes = 0, words = 0, lines = 0, longest = 0, cur = 0; int inword = 0;
  uint64_t h = FNV0; unsigned long hist[256] = {0};
  char buf[777]; ssize_t n; // odd-sized raw reads
  while ((n = read(0, buf, sizeof buf)) > 0) {
    h = fnv(h, buf, (size_t)n);
    for (ssize_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)buf[i];
      bytes++; hist[c]++;
      if (c == '\n') { lines++; if (cur > longest) longest = cur; cur = 0; } else cur++;
      if (isspace(c)) inword = 0; else if (!inword) { inword = 1; words++; }
    }
  }
  if (n < 0) { perror("read"); return 1; }
  if (cur > longest) longest = cur;
  printf("%ld %ld %ld longest %ld hash %016llx\n", lines, words, bytes, longest, (unsigned long long)h);
  printf("most frequent:");
  for (int k = 0; k < 5; k++) {
    int best = 0; for (int c = 1; c < 256; c++) if (hist[c] > hist[best]) best = c;
    printf(" %d:%lu", best, hist[best]); hist[best] = 0;
  }
  printf("\nread after EOF: %zd\n", read(0, buf, 1));
  return 0;
}
