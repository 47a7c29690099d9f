// Socket options of TCP and UDP over IPv4 and IPv6 and of AF_UNIX: every IPPROTO_IP,
// IPPROTO_IPV6, IPPROTO_TCP and SOL_SOCKET option rvisor implements, read on a fresh socket
// (Linux's defaults), then set to good and bad values and read back (EINVAL/ENOPROTOOPT/EPERM,
// the values Linux stores: TCP_DEFER_ACCEPT in retransmissions, TCP_LINGER2 capped, ECN bits
// of IP_TOS kept on TCP, -1 meaning the default), short option lengths, and options that
// survive connect and accept. Not here (QEMU 7.2 answers ENOPROTOOPT without asking the host):
// IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT, IP_MULTICAST_ALL, IPV6_DONTFRAG, IPV6_AUTOFLOWLABEL;
// nor IPV6_TRANSPARENT and SO_MARK, which root may set (rvisor: EPERM, as for other users).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ctest.h"

struct opt {
  int level, name;
  const char *text;
};

#define O(l, n) { l, n, #n }
static const struct opt OPTS[] = {
  O(IPPROTO_IP, IP_TOS), O(IPPROTO_IP, IP_TTL), O(IPPROTO_IP, IP_HDRINCL), O(IPPROTO_IP, IP_MTU_DISCOVER),
  O(IPPROTO_IP, IP_FREEBIND), 
  O(IPPROTO_IP, IP_MULTICAST_TTL), O(IPPROTO_IP, IP_MULTICAST_LOOP),
  O(IPPROTO_IPV6, IPV6_UNICAST_HOPS), O(IPPROTO_IPV6, IPV6_MULTICAST_HOPS), O(IPPROTO_IPV6, IPV6_MULTICAST_LOOP),
  O(IPPROTO_IPV6, IPV6_MTU_DISCOVER), O(IPPROTO_IPV6, IPV6_V6ONLY),
  O(IPPROTO_IPV6, IPV6_TCLASS),
  O(IPPROTO_IPV6, IPV6_FREEBIND),
  O(IPPROTO_TCP, TCP_NODELAY), O(IPPROTO_TCP, TCP_MAXSEG), O(IPPROTO_TCP, TCP_CORK), O(IPPROTO_TCP, TCP_KEEPIDLE),
  O(IPPROTO_TCP, TCP_KEEPINTVL), O(IPPROTO_TCP, TCP_KEEPCNT), O(IPPROTO_TCP, TCP_SYNCNT), O(IPPROTO_TCP, TCP_LINGER2),
  O(IPPROTO_TCP, TCP_DEFER_ACCEPT), O(IPPROTO_TCP, TCP_QUICKACK), O(IPPROTO_TCP, TCP_USER_TIMEOUT),
  O(IPPROTO_TCP, TCP_FASTOPEN), O(IPPROTO_TCP, TCP_NOTSENT_LOWAT),
  O(SOL_SOCKET, SO_KEEPALIVE), O(SOL_SOCKET, SO_REUSEADDR), O(SOL_SOCKET, SO_REUSEPORT), O(SOL_SOCKET, SO_BROADCAST),
  O(SOL_SOCKET, SO_PRIORITY),
};
#define NOPTS (int)(sizeof OPTS / sizeof OPTS[0])

static const char *err(int r) {
  return r < 0 ? strerrorname_np(errno) : "ok";
}

static void get(const char *tag, int s, const struct opt *o) {
  int v = -12345;
  socklen_t l = sizeof v;
  errno = 0;
  int r = getsockopt(s, o->level, o->name, &v, &l);
  if (r < 0) printf("%s get %s -> %s\n", tag, o->text, err(r));
  else printf("%s get %s = %d (len %d)\n", tag, o->text, v, (int)l);
}

static void set(const char *tag, int s, const struct opt *o, int v) {
  errno = 0;
  int r = setsockopt(s, o->level, o->name, &v, sizeof v);
  printf("%s set %s %d -> %s", tag, o->text, v, err(r));
  if (r == 0) {
    int g = -12345;
    socklen_t l = sizeof g;
    if (getsockopt(s, o->level, o->name, &g, &l) == 0) printf(", reads %d", g);
  }
  printf("\n");
}

static const struct opt *find(int level, int name) {
  for (int i = 0; i < NOPTS; i++)
    if (OPTS[i].level == level && OPTS[i].name == name) return &OPTS[i];
  return NULL;
}

/** Values tried on every socket for each option: good ones, bounds and bad ones. */
static const int TRIES[] = { 0, 1, -1, 2, 7, 3, 5, 6, 88, 87, 255, 256, 500, 32767, 32768, 121, 0x1f };

static void sweep(const char *tag, int domain, int type) {
  for (int i = 0; i < NOPTS; i++) {
    int s = socket(domain, type, 0);
    get(tag, s, &OPTS[i]);
    for (size_t k = 0; k < sizeof TRIES / sizeof TRIES[0]; k++) set(tag, s, &OPTS[i], TRIES[k]);
    close(s);
  }
}

static void lengths(void) {
  printf("-- short lengths\n");
  int s = socket(AF_INET, SOCK_STREAM, 0);
  unsigned char b = 9;
  errno = 0;
  printf("IP_TTL 1-byte value -> %s\n", err(setsockopt(s, IPPROTO_IP, IP_TTL, &b, 1)));
  int v = 0;
  socklen_t l = sizeof v;
  getsockopt(s, IPPROTO_IP, IP_TTL, &v, &l);
  printf("IP_TTL reads %d\n", v);
  errno = 0;
  printf("TCP_NODELAY 1-byte value -> %s\n", err(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &b, 1)));
  errno = 0;
  printf("TCP_KEEPIDLE 2-byte value -> %s\n", err(setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, 2)));
  close(s);
  s = socket(AF_INET6, SOCK_DGRAM, 0);
  errno = 0;
  printf("IPV6_UNICAST_HOPS 1-byte value -> %s\n", err(setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &b, 1)));
  close(s);
}

static void carried(void) {
  printf("-- options across bind, listen, connect and accept\n");
  int ls = socket(AF_INET6, SOCK_STREAM, 0);
  int one = 1, v = 0;
  set("listener", ls, find(IPPROTO_TCP, TCP_NODELAY), 1);
  set("listener", ls, find(IPPROTO_IP, IP_TOS), 0x20);
  set("listener", ls, find(IPPROTO_IPV6, IPV6_TCLASS), 0x40);
  set("listener", ls, find(IPPROTO_TCP, TCP_KEEPCNT), 4);
  set("listener", ls, find(IPPROTO_TCP, TCP_DEFER_ACCEPT), 5);
  set("listener", ls, find(IPPROTO_TCP, TCP_FASTOPEN), 3);
  struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  printf("bind -> %s\n", err(bind(ls, (struct sockaddr *)&a, sizeof a)));
  set("bound", ls, find(IPPROTO_IPV6, IPV6_V6ONLY), 1);
  printf("listen -> %s\n", err(listen(ls, 4)));
  set("listening", ls, find(IPPROTO_TCP, TCP_FASTOPEN), 2);
  socklen_t al = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &al);
  int c = socket(AF_INET6, SOCK_STREAM, 0);
  set("client", c, find(IPPROTO_IPV6, IPV6_UNICAST_HOPS), 9);
  set("client", c, find(IPPROTO_TCP, TCP_USER_TIMEOUT), 3000);
  printf("connect -> %s\n", err(connect(c, (struct sockaddr *)&a, sizeof a)));
  int s = accept(ls, NULL, NULL);
  printf("accepted %d\n", s >= 0);
  const struct opt *show[] = {
    find(IPPROTO_TCP, TCP_NODELAY), find(IPPROTO_IP, IP_TOS), find(IPPROTO_IPV6, IPV6_TCLASS), find(IPPROTO_TCP, TCP_KEEPCNT),
    find(IPPROTO_IPV6, IPV6_UNICAST_HOPS), find(IPPROTO_TCP, TCP_USER_TIMEOUT),
  };
  for (size_t i = 0; i < sizeof show / sizeof show[0]; i++) {
    get("accepted", s, show[i]);
    get("client", c, show[i]);
  }
  set("connected", c, find(IPPROTO_IPV6, IPV6_V6ONLY), 1);
  set("connected", c, find(IPPROTO_TCP, TCP_FASTOPEN), 1);
  set("connected", c, find(IPPROTO_TCP, TCP_NODELAY), 1);
  set("connected", c, find(IPPROTO_TCP, TCP_KEEPIDLE), 30);
  set("connected", c, find(SOL_SOCKET, SO_KEEPALIVE), 1);
  // Data still flows with the options on the host sockets.
  char buf[8] = { 0 };
  printf("send %zd\n", send(c, "ping", 4, 0));
  printf("recv %zd '%.4s'\n", recv(s, buf, sizeof buf, 0), buf);
  (void)v;
  close(c);
  close(s);
  close(ls);
}

static void unix_levels(void) {
  printf("-- AF_UNIX with other levels\n");
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  get("unix", sv[0], find(IPPROTO_TCP, TCP_NODELAY));
  set("unix", sv[0], find(IPPROTO_TCP, TCP_NODELAY), 1);
  get("unix", sv[0], find(IPPROTO_IP, IP_TTL));
  set("unix", sv[0], find(IPPROTO_IP, IP_TTL), 3);
  close(sv[0]);
  close(sv[1]);
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  get("unixdgram", sv[0], find(IPPROTO_IP, IP_TTL));
  set("unixdgram", sv[0], find(IPPROTO_IP, IP_TTL), 3);
  close(sv[0]);
  close(sv[1]);
}

int t_sockopts(int argc, char **argv) {
  (void)argc;
  (void)argv;
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("-- tcp4\n");
  sweep("tcp4", AF_INET, SOCK_STREAM);
  printf("-- tcp6\n");
  sweep("tcp6", AF_INET6, SOCK_STREAM);
  printf("-- udp4\n");
  sweep("udp4", AF_INET, SOCK_DGRAM);
  printf("-- udp6\n");
  sweep("udp6", AF_INET6, SOCK_DGRAM);
  lengths();
  carried();
  unix_levels();
  return 0;
}
