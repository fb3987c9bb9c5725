// The ceiling the benchmark compares diffai with: a plain C loop that reads the tensors in
// 1 MiB chunks (pread into one buffer per side) and computes what diffai computes, with AVX2:
// per side count, pivot-shifted f64 sums and squares, min, max, zeros; for a pair also
// max|a−b|, Σ|a−b|, changed, Σ(a−b)², Σab, Σa², Σb². No NaN handling, no Chan merge across
// chunks, no output beyond a checksum: an upper bound, not a competitor. Built by bench/run.js
// with `cc -O3 -mavx2 -mf16c`.
//
// usage: ceiling LAYOUT FILE_A [FILE_B]   LAYOUT lines: "F32|BF16|F16 startA endA startB endB"
// prints {"seconds": s, "bytes": n, "checksum": x}
#include <fcntl.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

typedef struct { __m256d s, q; __m256 mn, mx; __m256i z; } Stats;
typedef struct { __m256d mx, sabs, sdd, sab, saa, sbb, cnt; } Cmp;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

// Eight elements of the stored type as f32.
static inline __m256 load8(const uint8_t *p, int kind) {
  if (kind == 0) return _mm256_loadu_ps((const float *)p);
  __m128i h = _mm_loadu_si128((const __m128i *)p);
  if (kind == 1) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  return _mm256_cvtph_ps(h);
}

static inline void stats8(Stats *st, __m256 v, __m256d p) {
  st->mn = _mm256_min_ps(st->mn, v);
  st->mx = _mm256_max_ps(st->mx, v);
  st->z = _mm256_sub_epi32(st->z, _mm256_castps_si256(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_EQ_OQ)));
  __m256d a = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), p);
  __m256d b = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), p);
  st->s = _mm256_add_pd(st->s, _mm256_add_pd(a, b));
  st->q = _mm256_add_pd(st->q, _mm256_add_pd(_mm256_mul_pd(a, a), _mm256_mul_pd(b, b)));
}

static inline void cmp4(Cmp *c, __m256d a, __m256d b, __m256d eps) {
  __m256d d = _mm256_sub_pd(a, b);
  __m256d e = _mm256_andnot_pd(_mm256_set1_pd(-0.0), d);
  c->mx = _mm256_max_pd(c->mx, e);
  c->sabs = _mm256_add_pd(c->sabs, e);
  c->cnt = _mm256_sub_pd(c->cnt, _mm256_and_pd(_mm256_cmp_pd(e, eps, _CMP_GT_OQ), _mm256_set1_pd(-1.0)));
  c->sdd = _mm256_add_pd(c->sdd, _mm256_mul_pd(d, d));
  c->sab = _mm256_add_pd(c->sab, _mm256_mul_pd(a, b));
  c->saa = _mm256_add_pd(c->saa, _mm256_mul_pd(a, a));
  c->sbb = _mm256_add_pd(c->sbb, _mm256_mul_pd(b, b));
}

static double hsum(__m256d v) { double x[4]; _mm256_storeu_pd(x, v); return x[0] + x[1] + x[2] + x[3]; }

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: ceiling LAYOUT FILE_A [FILE_B]\n"); return 2; }
  FILE *layout = fopen(argv[1], "r");
  int fa = open(argv[2], O_RDONLY), fb = argc > 3 ? open(argv[3], O_RDONLY) : -1;
  if (!layout || fa < 0 || (argc > 3 && fb < 0)) { perror("open"); return 2; }
  uint8_t *ba = aligned_alloc(64, CHUNK), *bb = aligned_alloc(64, CHUNK);
  char dtype[8];
  long long sa, ea, sb, eb, bytes = 0;
  double checksum = 0, start = now();
  Stats A = {0}, B = {0};
  Cmp C = {0};
  __m256d eps = _mm256_setzero_pd();
  while (fscanf(layout, "%7s %lld %lld %lld %lld", dtype, &sa, &ea, &sb, &eb) == 5) {
    int kind = !strcmp(dtype, "F32") ? 0 : !strcmp(dtype, "BF16") ? 1 : 2;
    int size = kind == 0 ? 4 : 2;
    for (long long off = 0; off < ea - sa; off += CHUNK) {
      long long len = ea - sa - off < CHUNK ? ea - sa - off : CHUNK;
      if (pread(fa, ba, len, sa + off) != len) { perror("read"); return 2; }
      if (fb >= 0 && pread(fb, bb, len, sb + off) != len) { perror("read"); return 2; }
      long long n = len / size, i = 0;
      __m256 first = load8(ba, kind);
      __m256d pa = _mm256_set1_pd(_mm_cvtss_f32(_mm256_castps256_ps128(first)));
      __m256d pb = fb >= 0 ? _mm256_set1_pd(_mm_cvtss_f32(_mm256_castps256_ps128(load8(bb, kind)))) : pa;
      A.mn = A.mx = first;
      for (; i + 8 <= n; i += 8) {
        __m256 va = load8(ba + i * size, kind);
        stats8(&A, va, pa);
        if (fb < 0) continue;
        __m256 vb = load8(bb + i * size, kind);
        stats8(&B, vb, pb);
        cmp4(&C, _mm256_cvtps_pd(_mm256_castps256_ps128(va)), _mm256_cvtps_pd(_mm256_castps256_ps128(vb)), eps);
        cmp4(&C, _mm256_cvtps_pd(_mm256_extractf128_ps(va, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(vb, 1)), eps);
      }
      checksum += hsum(A.s) + hsum(A.q) + hsum(B.s) + hsum(C.sdd) + hsum(C.sab) + hsum(C.cnt) + hsum(C.mx);
      bytes += len * (fb >= 0 ? 2 : 1);
    }
  }
  float mn[8];
  _mm256_storeu_ps(mn, A.mn);
  checksum += mn[0];
  printf("{\"seconds\": %.6f, \"bytes\": %lld, \"checksum\": %.17g}\n", now() - start, bytes, checksum);
  return 0;
}
