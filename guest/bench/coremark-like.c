/* coremark-like: a CoreMark-style mixed workload written for rvisor (not CoreMark's code):
 * per iteration it runs linked-list operations (build, reverse, search, delete/insert, merge sort),
 * small integer matrix operations, a tokenizing state machine over a string, and folds every
 * result into a CRC-16.
 * Usage: coremark-like [ITERATIONS]   (default 40000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CRC-16/CCITT-FALSE, bitwise ---- */
static uint16_t crc16_byte(uint16_t crc, uint8_t b) {
  crc ^= (uint16_t)b << 8;
  for (int i = 0; i < 8; i++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  return crc;
}
static uint16_t crc16_u32(uint16_t crc, uint32_t v) {
  for (int i = 0; i < 4; i++) crc = crc16_byte(crc, (uint8_t)(v >> (8 * i)));
  return crc;
}

/* ---- linked list ---- */
#define NODES 200
struct node { struct node *next; int16_t key; int16_t val; };
static struct node pool[NODES];

static struct node *list_build(uint32_t seed) {
  struct node *head = NULL;
  for (int i = 0; i < NODES; i++) {
    seed = seed * 1103515245u + 12345u;
    pool[i].key = (int16_t)((seed >> 16) & 0x3ff);
    pool[i].val = (int16_t)i;
    pool[i].next = head;
    head = &pool[i];
  }
  return head;
}
static struct node *list_reverse(struct node *h) {
  struct node *prev = NULL;
  while (h) { struct node *n = h->next; h->next = prev; prev = h; h = n; }
  return prev;
}
static struct node *list_find(struct node *h, int16_t key) {
  while (h && h->key != key) h = h->next;
  return h;
}
static struct node *list_merge(struct node *a, struct node *b) {
  struct node dummy, *t = &dummy;
  while (a && b) {
    if (a->key < b->key || (a->key == b->key && a->val <= b->val)) { t->next = a; a = a->next; }
    else { t->next = b; b = b->next; }
    t = t->next;
  }
  t->next = a ? a : b;
  return dummy.next;
}
static struct node *list_sort(struct node *h) { /* top-down merge sort */
  if (!h || !h->next) return h;
  struct node *slow = h, *fast = h->next;
  while (fast && fast->next) { slow = slow->next; fast = fast->next->next; }
  struct node *second = slow->next;
  slow->next = NULL;
  return list_merge(list_sort(h), list_sort(second));
}
static uint16_t list_work(uint16_t crc, uint32_t seed) {
  struct node *h = list_build(seed);
  h = list_reverse(h);
  int found = 0, missing = 0;
  for (int k = 0; k < 16; k++) {
    struct node *n = list_find(h, (int16_t)((seed >> k) & 0x3ff));
    if (n) { found++; crc = crc16_u32(crc, (uint32_t)n->val); } else missing++;
  }
  /* delete every third node, then re-insert them at the front */
  struct node *removed = NULL, **pp = &h;
  int idx = 0;
  while (*pp) {
    if (idx++ % 3 == 0) { struct node *n = *pp; *pp = n->next; n->next = removed; removed = n; }
    else pp = &(*pp)->next;
  }
  while (removed) { struct node *n = removed; removed = n->next; n->next = h; h = n; }
  h = list_sort(h);
  uint32_t acc = 0;
  int count = 0;
  for (struct node *n = h; n; n = n->next, count++) acc = acc * 33 + (uint32_t)(n->key ^ n->val);
  crc = crc16_u32(crc, acc);
  crc = crc16_u32(crc, (uint32_t)(count * 65536 + found * 256 + missing));
  return crc;
}

/* ---- matrix ---- */
#define MN 12
static int16_t ma[MN][MN], mb[MN][MN];
static int32_t mc[MN][MN];
static uint16_t matrix_work(uint16_t crc, uint32_t seed) {
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) {
      seed = seed * 22695477u + 1u;
      ma[i][j] = (int16_t)((seed >> 20) - 2048);
      mb[i][j] = (int16_t)(((seed >> 8) & 0xff) - 128);
    }
  int16_t k = (int16_t)(seed & 0x1f);
  for (int i = 0; i < MN; i++) /* add a constant */
    for (int j = 0; j < MN; j++) ma[i][j] = (int16_t)(ma[i][j] + k);
  int32_t vsum = 0;
  for (int i = 0; i < MN; i++) { /* matrix * vector (first column of b) */
    int32_t s = 0;
    for (int j = 0; j < MN; j++) s += ma[i][j] * mb[j][0];
    vsum ^= s;
  }
  for (int i = 0; i < MN; i++) /* matrix * matrix */
    for (int j = 0; j < MN; j++) {
      int32_t s = 0;
      for (int t = 0; t < MN; t++) s += ma[i][t] * mb[t][j];
      mc[i][j] = s;
    }
  int32_t bits = 0, mx = INT32_MIN;
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) {
      int32_t v = mc[i][j];
      bits += (v >> 2) & 0xf; /* bit-field extraction */
      if (v > mx) mx = v;
    }
  crc = crc16_u32(crc, (uint32_t)vsum);
  crc = crc16_u32(crc, (uint32_t)bits);
  return crc16_u32(crc, (uint32_t)mx);
}

/* ---- state machine: classify comma-separated tokens ---- */
enum state { S_START, S_SIGN, S_INT, S_DOT, S_FRAC, S_EXP, S_EXPSIGN, S_EXPNUM, S_HEX0, S_HEX, S_BAD, S_COUNT };
static const char *tokens[] = { "123", "-45.5", "+0.25e-3", "0x1F", "abc", "7e", "3.", "-", "0x", "42E+7",
                                "1.2.3", "99999", "0xdeadBEEF", ".5", "+12e3", "x9" };
static char text[512];
static size_t text_len;

static enum state step(enum state s, char c) {
  int digit = c >= '0' && c <= '9';
  switch (s) {
  case S_START: return digit ? (c == '0' ? S_HEX0 : S_INT) : (c == '+' || c == '-') ? S_SIGN : c == '.' ? S_DOT : S_BAD;
  case S_SIGN: return digit ? S_INT : c == '.' ? S_DOT : S_BAD;
  case S_HEX0: return (c == 'x' || c == 'X') ? S_HEX : digit ? S_INT : c == '.' ? S_DOT : (c == 'e' || c == 'E') ? S_EXP : S_BAD;
  case S_HEX: return (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) ? S_HEX : S_BAD;
  case S_INT: return digit ? S_INT : c == '.' ? S_DOT : (c == 'e' || c == 'E') ? S_EXP : S_BAD;
  case S_DOT: return digit ? S_FRAC : S_BAD;
  case S_FRAC: return digit ? S_FRAC : (c == 'e' || c == 'E') ? S_EXP : S_BAD;
  case S_EXP: return digit ? S_EXPNUM : (c == '+' || c == '-') ? S_EXPSIGN : S_BAD;
  case S_EXPSIGN: return digit ? S_EXPNUM : S_BAD;
  case S_EXPNUM: return digit ? S_EXPNUM : S_BAD;
  default: return S_BAD;
  }
}
static uint16_t state_work(uint16_t crc, uint32_t seed) {
  /* corrupt a few characters of the text, run the machine, then restore */
  char saved[4];
  size_t pos[4];
  for (int i = 0; i < 4; i++) {
    seed = seed * 1664525u + 1013904223u;
    pos[i] = (seed >> 8) % text_len;
    saved[i] = text[pos[i]];
    if (text[pos[i]] != ',') text[pos[i]] = (char)('0' + (seed >> 24) % 10);
  }
  uint32_t final_count[S_COUNT] = { 0 }, transitions = 0;
  enum state s = S_START;
  for (size_t i = 0; i <= text_len; i++) {
    char c = text[i];
    if (c == ',' || c == '\0') { final_count[s]++; s = S_START; continue; }
    enum state n = step(s, c);
    if (n != s) transitions++;
    s = n;
  }
  for (int i = 3; i >= 0; i--) text[pos[i]] = saved[i];
  for (int i = 0; i < S_COUNT; i++) crc = crc16_u32(crc, final_count[i]);
  return crc16_u32(crc, transitions);
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? strtol(argv[1], NULL, 0) : 40000;
  text_len = 0;
  for (int r = 0; r < 4; r++)
    for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++) {
      size_t l = strlen(tokens[i]);
      memcpy(text + text_len, tokens[i], l);
      text_len += l;
      text[text_len++] = ',';
    }
  text[--text_len] = '\0';
  uint16_t crc = 0xffff, lcrc = 0, mcrc = 0, scrc = 0;
  for (long it = 0; it < iters; it++) {
    uint32_t seed = (uint32_t)it * 2654435761u + 7u;
    lcrc = list_work(lcrc, seed);
    mcrc = matrix_work(mcrc, seed);
    scrc = state_work(scrc, seed);
    crc = crc16_u32(crc, ((uint32_t)lcrc << 16) | mcrc);
    crc = crc16_u32(crc, scrc);
  }
  printf("coremark-like iterations=%ld list=%04x matrix=%04x state=%04x crc=%04x\n", iters, lcrc, mcrc, scrc, crc);
  return 0;
}
