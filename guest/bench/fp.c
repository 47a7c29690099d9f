/* fp: double-precision kernels: an n-body simulation, a matrix multiply, and a polynomial/sqrt loop.
 * Usage: fp [SCALE]   (default 12; work grows linearly with SCALE) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define NB 5
struct body { double x, y, z, vx, vy, vz, m; };

static double nbody(int steps) {
  struct body b[NB];
  for (int i = 0; i < NB; i++) { /* a made-up but stable little system */
    double r = 1.0 + 2.5 * i, ang = 0.7 * i;
    b[i].x = r * cos(ang); b[i].y = r * sin(ang); b[i].z = 0.01 * i;
    double v = i ? sqrt(39.47841760435743 / r) : 0.0;
    b[i].vx = -v * sin(ang); b[i].vy = v * cos(ang); b[i].vz = 0.0;
    b[i].m = i ? 39.47841760435743 * 1e-3 / i : 39.47841760435743;
  }
  const double dt = 0.001;
  for (int s = 0; s < steps; s++) {
    for (int i = 0; i < NB; i++)
      for (int j = i + 1; j < NB; j++) {
        double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
        double d2 = dx * dx + dy * dy + dz * dz;
        double mag = dt / (d2 * sqrt(d2));
        b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
        b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
      }
    for (int i = 0; i < NB; i++) { b[i].x += dt * b[i].vx; b[i].y += dt * b[i].vy; b[i].z += dt * b[i].vz; }
  }
  double e = 0;
  for (int i = 0; i < NB; i++) {
    e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
    for (int j = i + 1; j < NB; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      e -= b[i].m * b[j].m / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

static double matmul(int n, int reps) {
  double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n), *c = malloc(sizeof(double) * n * n);
  for (int i = 0; i < n * n; i++) { a[i] = (i % 17) * 0.25 - 2.0; b[i] = (i % 13) * 0.125 + 0.5; }
  double tr = 0;
  for (int r = 0; r < reps; r++) {
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) c[i * n + j] = 0;
    for (int i = 0; i < n; i++)
      for (int k = 0; k < n; k++) {
        double aik = a[i * n + k];
        for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
      }
    for (int i = 0; i < n; i++) tr += c[i * n + i];
    a[r % (n * n)] += 1.0 / (r + 1); /* keep repetitions from being identical */
  }
  free(a); free(b); free(c);
  return tr;
}

static double polysqrt(long n) {
  double acc = 0, x = 0.0;
  for (long i = 0; i < n; i++) {
    x += 1e-6;
    double p = ((((0.0083 * x - 0.1667) * x + 0.5) * x - 1.0) * x + 1.0); /* Horner */
    double q = sqrt(x + 1.0) / (1.0 + fabs(p));
    acc += q - floor(q * 0.5) + (double)(long)(p * 1000.0) * 1e-9;
    if (i % 1000 == 999) acc = fmod(acc, 1e6);
  }
  return acc;
}

int main(int argc, char **argv) {
  int scale = argc > 1 ? atoi(argv[1]) : 12;
  if (scale < 1) scale = 1;
  double e = nbody(20000 * scale);
  double t = matmul(96, 2 * scale);
  double p = polysqrt(400000L * scale);
  printf("fp scale=%d nbody=%.12f matmul=%.6f poly=%.9f\n", scale, e, t, p);
  return 0;
}
