// The perl(1) program that holds one host raw socket for the network worker (host-net.ts;
// raw-socket.ts explains why). Hand-written for rvisor.
/** The perl program behind one raw socket (argv: family, protocol). Frames both ways are one
 *  op byte and a little-endian u32 length or value: in, B(sockaddr) bind, S(u32 len, sockaddr,
 *  data) send, O(u32 level, u32 option, value) setsockopt, G(u32 level, u32 option) getsockopt;
 *  out, K(0) opened, E(errno) not opened, R(errno) the result of B, O or a failed G, V(u32 len,
 *  value) G's value, X(errno) a send or receive failed, P(u32 len, sockaddr, u32 len, packet) a
 *  packet. */
export const RAW_PROXY = `
use strict; use warnings; use Socket qw(SOCK_RAW);
my ($fam, $proto) = @ARGV;
binmode STDIN; binmode STDOUT;
sub out { my $b = shift; while (length $b) { my $n = syswrite(STDOUT, $b); exit 0 unless defined $n; substr($b, 0, $n) = ''; } }
socket(my $s, $fam, SOCK_RAW, $proto) or do { out(pack('a1 V', 'E', $! + 0)); exit 1; };
out(pack('a1 V', 'K', 0));
my $in = '';
my $rin = '';
vec($rin, fileno(STDIN), 1) = 1;
vec($rin, fileno($s), 1) = 1;
while (1) {
  my $n = select(my $rout = $rin, undef, undef, undef);
  next if $n <= 0;
  if (vec($rout, fileno($s), 1)) {
    my $from = recv($s, my $buf, 65536, 0);
    if (defined $from) { out(pack('a1 V/a* V/a*', 'P', $from, $buf)); } else { out(pack('a1 V', 'X', $! + 0)); }
  }
  if (vec($rout, fileno(STDIN), 1)) {
    my $got = sysread(STDIN, $in, 65536, length $in);
    exit 0 unless $got;
    while (length($in) >= 5) {
      my ($op, $len) = unpack('a1 V', $in);
      last if length($in) < 5 + $len;
      my $body = substr($in, 5, $len);
      substr($in, 0, 5 + $len) = '';
      if ($op eq 'B') { out(pack('a1 V', 'R', bind($s, $body) ? 0 : $! + 0)); }
      elsif ($op eq 'O') {
        my ($level, $opt, $val) = unpack('V V a*', $body);
        out(pack('a1 V', 'R', setsockopt($s, $level, $opt, $val) ? 0 : $! + 0));
      }
      elsif ($op eq 'G') {
        my ($level, $opt) = unpack('V V', $body);
        my $v = getsockopt($s, $level, $opt);
        if (defined $v) { out(pack('a1 V/a*', 'V', $v)); } else { out(pack('a1 V', 'R', $! + 0)); }
      }
      elsif ($op eq 'S') {
        my ($to, $data) = unpack('V/a* a*', $body);
        my $r = length($to) ? send($s, $data, 0, $to) : send($s, $data, 0);
        out(pack('a1 V', 'X', $! + 0)) unless defined $r;
      }
    }
  }
}
`;
