/*
 * Compiled kernels of mahalanobis (optional: the package falls back to numpy/scipy without
 * them). Built by setuptools at `pip install` (setup.py); called from _linalg.py through
 * ctypes, which releases the GIL, so Python threads run these kernels in parallel on their own
 * rows. BLAS routines are not linked: their addresses come from scipy.linalg.cython_blas and are
 * passed in, so the kernels use scipy's OpenBLAS, the one the rest of _linalg uses.
 *
 * Kernels
 *   mh_sqdist        squared Mahalanobis norms ||W (x_i - c)||^2 of the rows of X, fused:
 *                    centring, triangular multiply and row sums in one pass over each block of
 *                    rows (a register-blocked loop for small p, BLAS dtrmm on a cached chunk
 *                    for large p); optional square root; returns the count of non-finite rows.
 *   mh_moments       one pass of exact co-moment accumulation (count, sum, co-moment matrix,
 *                    constant-column flags and, optionally, the third and fourth moments that
 *                    Ledoit-Wolf needs) over a range of rows, merged into a running state.
 *   mh_merge         Chan, Golub & LeVeque's pairwise merge of two such states.
 *   mh_pairwise_rows squared distances between whitened row sets, one row panel at a time:
 *                    a BLAS dgemm of the norm expansion, then clamping, exact recomputation
 *                    of the pairs where the expansion cancels and the square root.
 *
 * Accuracy of the co-moments ("exact" mode). Each block of at most 256 rows is shifted by its
 * rounded mean c, x - c = u_hi + u_lo exactly (TwoSum), and u_hi is split into u1 (rounded to a
 * multiple of 2^(e_j - 22), 2^e_j >= max |u_hi| of column j in the block) and r = u_hi - u1
 * + u_lo. Every product u1_i u1_j is then a multiple of 2^(e_i + e_j - 44) below
 * 2^(e_i + e_j), so any sum of at most 2^8 of them is exact in double precision, whatever the
 * order (BLAS or vector lanes). The remaining terms u1 r^T + r u1^T + r r^T are 2^-22 times
 * smaller, so their rounding is far below one ulp of the result. Block results are merged in
 * double-double arithmetic. The outcome is the co-moment matrix with an error of about one
 * rounding of the final value. "Fast" mode accumulates u u^T in plain double per block
 * (one BLAS syrk) with the same double-double merge.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int fint; /* BLAS integer of scipy's cython_blas (LP64) */
typedef int64_t idx;

typedef void (*dtrmm_t)(char *, char *, char *, char *, fint *, fint *, double *, double *,
                        fint *, double *, fint *);
typedef void (*dsyrk_t)(char *, char *, fint *, fint *, double *, double *, fint *, double *,
                        double *, fint *);
typedef void (*dgemm_t)(char *, char *, fint *, fint *, fint *, double *, double *, fint *,
                        double *, fint *, double *, double *, fint *);

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MH_CLONES __attribute__((target_clones("avx512f", "fma", "default")))
#else
#define MH_CLONES
#endif

#define MH_EXPORT __attribute__((visibility("default")))
#define MH_INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------------------ double-double */
static inline void two_sum(double a, double b, double *s, double *e)
{
    double t = a + b;
    double bb = t - a;
    *e = (a - (t - bb)) + (b - bb);
    *s = t;
}

static inline void fast_two_sum(double a, double b, double *s, double *e)
{
    double t = a + b;
    *e = b - (t - a);
    *s = t;
}

/* (hi, lo) += (b_hi, b_lo) */
static inline void dd_add(double *hi, double *lo, double b_hi, double b_lo)
{
    double s, e;
    two_sum(*hi, b_hi, &s, &e);
    e += *lo + b_lo;
    fast_two_sum(s, e, hi, lo);
}

/* (hi, lo) / d for a positive integer-valued d, as a double-double */
static inline void dd_div(double hi, double lo, double d, double *q_hi, double *q_lo)
{
    double q = hi / d;
    double r = fma(-q, d, hi) + lo;
    double q2 = r / d;
    fast_two_sum(q, q2, q_hi, q_lo);
}

MH_INLINE double sumsq(const double *x, idx p)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    idx j = 0;
    for (; j + 8 <= p; j += 8)
        for (int l = 0; l < 8; l++)
            acc[l] += x[j + l] * x[j + l];
    double s = 0.0;
    for (; j < p; j++)
        s += x[j] * x[j];
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* 8 doubles as one vector (GCC/Clang vector extension; lowered to narrower registers by
   the compiler where the target has none this wide) */
typedef double v8d __attribute__((vector_size(64)));

MH_INLINE v8d ld8(const double *p)
{
    v8d v;
    memcpy(&v, p, sizeof v);
    return v;
}

MH_INLINE double hsum8(v8d v)
{
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

typedef int64_t v8i __attribute__((vector_size(64)));
#if defined(__clang__)
#define SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF(a, b, ...) __builtin_shuffle(a, b, (v8i){__VA_ARGS__})
#endif

MH_INLINE void st8(double *p, v8d v) { memcpy(p, &v, sizeof v); }

/* Transpose the 8 x 8 block of rows x[0..7] (row stride rs), columns 0..7, into
   out[c*ld + 0..7] (three rounds of two-source shuffles). */
MH_INLINE void transpose8x8(const double *x, idx rs, double *out, idx ld)
{
    v8d r0 = ld8(x), r1 = ld8(x + rs), r2 = ld8(x + 2 * rs), r3 = ld8(x + 3 * rs),
        r4 = ld8(x + 4 * rs), r5 = ld8(x + 5 * rs), r6 = ld8(x + 6 * rs), r7 = ld8(x + 7 * rs);
    v8d t0 = SHUF(r0, r1, 0, 8, 2, 10, 4, 12, 6, 14), t1 = SHUF(r0, r1, 1, 9, 3, 11, 5, 13, 7, 15);
    v8d t2 = SHUF(r2, r3, 0, 8, 2, 10, 4, 12, 6, 14), t3 = SHUF(r2, r3, 1, 9, 3, 11, 5, 13, 7, 15);
    v8d t4 = SHUF(r4, r5, 0, 8, 2, 10, 4, 12, 6, 14), t5 = SHUF(r4, r5, 1, 9, 3, 11, 5, 13, 7, 15);
    v8d t6 = SHUF(r6, r7, 0, 8, 2, 10, 4, 12, 6, 14), t7 = SHUF(r6, r7, 1, 9, 3, 11, 5, 13, 7, 15);
    v8d s0 = SHUF(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13), s2 = SHUF(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
    v8d s1 = SHUF(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13), s3 = SHUF(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
    v8d s4 = SHUF(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13), s6 = SHUF(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
    v8d s5 = SHUF(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13), s7 = SHUF(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
    st8(out, SHUF(s0, s4, 0, 1, 2, 3, 8, 9, 10, 11));
    st8(out + 4 * ld, SHUF(s0, s4, 4, 5, 6, 7, 12, 13, 14, 15));
    st8(out + ld, SHUF(s1, s5, 0, 1, 2, 3, 8, 9, 10, 11));
    st8(out + 5 * ld, SHUF(s1, s5, 4, 5, 6, 7, 12, 13, 14, 15));
    st8(out + 2 * ld, SHUF(s2, s6, 0, 1, 2, 3, 8, 9, 10, 11));
    st8(out + 6 * ld, SHUF(s2, s6, 4, 5, 6, 7, 12, 13, 14, 15));
    st8(out + 3 * ld, SHUF(s3, s7, 0, 1, 2, 3, 8, 9, 10, 11));
    st8(out + 7 * ld, SHUF(s3, s7, 4, 5, 6, 7, 12, 13, 14, 15));
}

/* tile[j*ld + r] = X[r0 + r, j] for r < k, j < p (rows of X with element strides rs, cs) */
MH_CLONES
static void transpose_rows(const double *restrict X, idx r0, idx k, idx p, idx rs, idx cs,
                           double *restrict tile, idx ld)
{
    if (cs != 1) {
        for (idx j = 0; j < p; j++)
            for (idx r = 0; r < k; r++)
                tile[j * ld + r] = X[(r0 + r) * rs + j * cs];
        return;
    }
    idx k8 = k / 8 * 8, p8 = p / 8 * 8;
    for (idx r = 0; r < k8; r += 8) {
        const double *x = X + (r0 + r) * rs;
        for (idx j = 0; j < p8; j += 8)
            transpose8x8(x + j, rs, tile + j * ld + r, ld);
        for (idx j = p8; j < p; j++)
            for (int l = 0; l < 8; l++)
                tile[j * ld + r + l] = x[l * rs + j];
    }
    for (idx r = k8; r < k; r++)
        for (idx j = 0; j < p; j++)
            tile[j * ld + r] = X[(r0 + r) * rs + j];
}

/* ------------------------------------------------------------------------ distances */
#define RB 16      /* rows per register block of the direct kernel */
#define PD_MAX 256 /* largest p of the direct kernel */

MH_INLINE int finish(double d, int take_sqrt, double *out)
{
    int bad = !(d <= INFINITY) || d == INFINITY; /* NaN or +inf */
    if (d < 0.0)
        d = 0.0;
    *out = take_sqrt ? sqrt(d) : d;
    return bad;
}

MH_CLONES
static idx sqdist_direct(const double *X, idx n, idx p, idx rs, idx cs, const double *c,
                         const double *W, int lower, int take_sqrt, double *out)
{
    double vt[PD_MAX * RB]; /* centred rows, transposed: vt[j*RB + r] */
    idx nonfinite = 0;
    for (idx i0 = 0; i0 < n; i0 += RB) {
        idx m = n - i0 < RB ? n - i0 : RB;
        transpose_rows(X, i0, m, p, rs, cs, vt, RB);
        for (idx j = 0; j < p; j++) {
            double cj = c[j];
            for (idx r = 0; r < RB; r++)
                vt[j * RB + r] = r < m ? vt[j * RB + r] - cj : 0.0;
        }
        v8d acc0 = {0}, acc1 = {0};
        idx k = 0;
        for (; k + 4 <= p; k += 4) { /* four output coordinates share the loads of v */
            v8d a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0 = {0}, c1 = {0}, d0 = {0}, d1 = {0};
            const double *w0 = W + k * p, *w1 = w0 + p, *w2 = w1 + p, *w3 = w2 + p;
            /* lower: coordinate k + q uses j <= k + q; upper: j >= k + q. Entries outside
               the triangle are zero in W, so the shared range may include them. */
            idx jlo = lower ? 0 : k, jhi = lower ? k + 3 : p - 1;
            for (idx j = jlo; j <= jhi; j++) {
                v8d v0 = ld8(vt + j * RB), v1 = ld8(vt + j * RB + 8);
                double e0 = w0[j], e1 = w1[j], e2 = w2[j], e3 = w3[j];
                a0 += e0 * v0; a1 += e0 * v1;
                b0 += e1 * v0; b1 += e1 * v1;
                c0 += e2 * v0; c1 += e2 * v1;
                d0 += e3 * v0; d1 += e3 * v1;
            }
            acc0 += a0 * a0 + b0 * b0 + c0 * c0 + d0 * d0;
            acc1 += a1 * a1 + b1 * b1 + c1 * c1 + d1 * d1;
        }
        for (; k < p; k++) {
            v8d z0 = {0}, z1 = {0};
            idx jlo = lower ? 0 : k, jhi = lower ? k : p - 1;
            const double *w = W + k * p;
            for (idx j = jlo; j <= jhi; j++) {
                z0 += w[j] * ld8(vt + j * RB);
                z1 += w[j] * ld8(vt + j * RB + 8);
            }
            acc0 += z0 * z0;
            acc1 += z1 * z1;
        }
        double acc[RB];
        st8(acc, acc0);
        st8(acc + 8, acc1);
        for (idx r = 0; r < m; r++)
            nonfinite += finish(acc[r], take_sqrt, out + i0 + r);
    }
    return nonfinite;
}

MH_CLONES
static void center_rows(const double *X, idx start, idx k, idx p, idx rs, idx cs,
                        const double *c, double *buf)
{
    if (cs == 1) {
        for (idx r = 0; r < k; r++) {
            const double *x = X + (start + r) * rs;
            double *b = buf + r * p;
            for (idx j = 0; j < p; j++)
                b[j] = x[j] - c[j];
        }
    } else {
        for (idx j = 0; j < p; j++) {
            const double *x = X + start * rs + j * cs;
            double cj = c[j];
            for (idx r = 0; r < k; r++)
                buf[r * p + j] = x[r * rs] - cj;
        }
    }
}

MH_CLONES
static idx sqdist_blas(const double *X, idx n, idx p, idx rs, idx cs, const double *c,
                       const double *Wf, int lower, int take_sqrt, double *out, double *buf,
                       idx rows, dtrmm_t trmm)
{
    idx nonfinite = 0;
    fint fp = (fint)p;
    double one = 1.0;
    char side = 'L', uplo = lower ? 'L' : 'U', tr = 'N', diag = 'N';
    for (idx s = 0; s < n; s += rows) {
        idx k = n - s < rows ? n - s : rows;
        fint fk = (fint)k;
        center_rows(X, s, k, p, rs, cs, c, buf);
        /* buf is C-ordered (k, p): as a Fortran array it is (p, k) = B^T, and
           B^T := W B^T is the row-wise whitening B := B W^T */
        trmm(&side, &uplo, &tr, &diag, &fp, &fk, &one, (double *)Wf, &fp, buf, &fp);
        for (idx r = 0; r < k; r++)
            nonfinite += finish(sumsq(buf + r * p, p), take_sqrt, out + s + r);
    }
    return nonfinite;
}

/*
 * Squared (or plain, take_sqrt) distances of rows [0, n) of X (element strides rs, cs) to c.
 * W: the p x p triangular whitening matrix in C order (direct kernel) and Wf the same in
 * Fortran order (BLAS); buf: rows x p scratch (BLAS path). Returns the number of non-finite
 * results (rows holding NaN or inf); negative rounding is clamped at 0.
 */
MH_EXPORT idx mh_sqdist(const double *X, idx n, idx p, idx rs, idx cs, const double *c,
                        const double *W, const double *Wf, int lower, int take_sqrt,
                        double *out, double *buf, idx rows, void *trmm, idx direct_max)
{
    if (p <= direct_max && p <= PD_MAX)
        return sqdist_direct(X, n, p, rs, cs, c, W, lower, take_sqrt, out);
    return sqdist_blas(X, n, p, rs, cs, c, Wf, lower, take_sqrt, out, buf, rows,
                       (dtrmm_t)trmm);
}

/* ------------------------------------------------------------------------ moments */
/*
 * A running state over a set of rows (all arrays owned by the caller):
 *   n         number of rows
 *   T_hi/lo   column sums, double-double (p)
 *   M_hi/lo   co-moments about the mean, double-double (p x p, upper triangle, row-major)
 *   q4, t     (fourth moment only) sum ||x - mean||^4 and sum ||x - mean||^2 (x - mean)
 */
typedef struct {
    double *n;
    double *T_hi, *T_lo, *M_hi, *M_lo, *q4, *t;
} state_t;

#define KB_EXACT 256 /* rows per block in exact mode: 2 * SPLIT_BITS + log2(KB_EXACT) <= 53 */
#define SPLIT_BITS 22

/* Shift the fourth-moment pair (q, t) of a set (count n, co-moments M (upper), column sums of
   deviations s) from its reference point to one displaced by -delta (x - ref = w + delta). */
static void shift_fourth(idx p, double n, const double *M, const double *s, const double *d,
                         double *q, double *t)
{
    double dd = 0.0, dt = 0.0, dMd = 0.0, tr = 0.0, ds = 0.0;
    for (idx i = 0; i < p; i++) {
        dd += d[i] * d[i];
        dt += d[i] * t[i];
        tr += M[i * p + i];
        ds += s ? d[i] * s[i] : 0.0;
    }
    /* M d (M symmetric, upper triangle stored) */
    double *Md = (double *)malloc(sizeof(double) * (size_t)p);
    for (idx i = 0; i < p; i++) {
        double acc = 0.0;
        for (idx j = 0; j < p; j++)
            acc += (i <= j ? M[i * p + j] : M[j * p + i]) * d[j];
        Md[i] = acc;
        dMd += d[i] * acc;
    }
    *q += 4.0 * dt + 4.0 * dMd + 2.0 * dd * tr + 4.0 * dd * ds + n * dd * dd;
    for (idx i = 0; i < p; i++) {
        double si = s ? s[i] : 0.0;
        /* sum (a + 2 w.d + |d|^2)(w + d) with sum w = s */
        t[i] += 2.0 * Md[i] + tr * d[i] + dd * si + 2.0 * ds * d[i] + n * dd * d[i];
    }
    free(Md);
}

/* a := merge(a, b) (Chan, Golub & LeVeque 1979, eq. 2.1b, in double-double) */
MH_EXPORT void mh_merge(idx p, int fourth,
                        double *an, double *aT_hi, double *aT_lo, double *aM_hi, double *aM_lo,
                        double *aq4, double *at, double *bn, double *bT_hi, double *bT_lo,
                        double *bM_hi, double *bM_lo, double *bq4, double *bt)
{
    double na = *an, nb = *bn;
    if (nb == 0)
        return;
    if (na == 0) {
        *an = nb;
        memcpy(aT_hi, bT_hi, sizeof(double) * (size_t)p);
        memcpy(aT_lo, bT_lo, sizeof(double) * (size_t)p);
        memcpy(aM_hi, bM_hi, sizeof(double) * (size_t)(p * p));
        memcpy(aM_lo, bM_lo, sizeof(double) * (size_t)(p * p));
        if (fourth) {
            *aq4 = *bq4;
            memcpy(at, bt, sizeof(double) * (size_t)p);
        }
        return;
    }
    double n = na + nb;
    double *delta = (double *)calloc((size_t)p * 5, sizeof(double));
    double *da = delta + p, *db = delta + 2 * p, *dl = delta + 3 * p, *wd = delta + 4 * p;
    for (idx j = 0; j < p; j++) {
        double ma_hi, ma_lo, mb_hi, mb_lo, s, e;
        dd_div(aT_hi[j], aT_lo[j], na, &ma_hi, &ma_lo);
        dd_div(bT_hi[j], bT_lo[j], nb, &mb_hi, &mb_lo);
        two_sum(mb_hi, -ma_hi, &s, &e);
        fast_two_sum(s, e + (mb_lo - ma_lo), &delta[j], &dl[j]); /* mean_b - mean_a (dd) */
        da[j] = -delta[j] * (nb / n); /* mean_a - mean */
        db[j] = delta[j] * (na / n);  /* mean_b - mean */
    }
    if (fourth) {
        shift_fourth(p, na, aM_hi, NULL, da, aq4, at);
        shift_fourth(p, nb, bM_hi, NULL, db, bq4, bt);
        *aq4 += *bq4;
        for (idx j = 0; j < p; j++)
            at[j] += bt[j];
    }
    /* w delta_i delta_j in double-double: the term is of the order of sigma_i sigma_j per
       merge, so its rounding would show in co-moments of nearly uncorrelated columns */
    double w_hi, w_lo; /* w = na nb / n exactly enough: its rounding would be eps sigma^2 */
    dd_div(na * nb, 0.0, n, &w_hi, &w_lo);
    for (idx i = 0; i < p; i++) {
        double wi = w_hi * delta[i];
        wd[i] = fma(w_hi, delta[i], -wi) + (w_hi * dl[i] + w_lo * delta[i]);
        for (idx j = i; j < p; j++) {
            idx ij = i * p + j;
            double t = wi * delta[j];
            double te = fma(wi, delta[j], -t) + (wi * dl[j] + wd[i] * delta[j]);
            dd_add(&aM_hi[ij], &aM_lo[ij], bM_hi[ij], bM_lo[ij]);
            dd_add(&aM_hi[ij], &aM_lo[ij], t, te);
        }
    }
    for (idx j = 0; j < p; j++)
        dd_add(&aT_hi[j], &aT_lo[j], bT_hi[j], bT_lo[j]);
    *an = n;
    free(delta);
}

/* Block scratch: shift c, deviations' sums s (double-double), co-moments about c P (dd). */
typedef struct {
    double *c, *s_hi, *s_lo, *P_hi, *P_lo, *emax, *sigma;
    double *q4, *t;
} block_t;

/* Finish a block: convert (k, c, s, P[, q, t about c]) into a state and merge it into st. */
static void merge_block(idx p, int fourth, double k, block_t *b, state_t *st, state_t *tmp)
{
    /* block state: T = k c + s, M = P - s s^T / k, fourth moments about the block mean.
       s_hi (the exact sum of u1) and s_lo (that of r) nearly cancel: use their sum. */
    double *sv = b->emax; /* scratch: s = s_hi + s_lo */
    *tmp->n = k;
    for (idx j = 0; j < p; j++)
        sv[j] = b->s_hi[j] + b->s_lo[j];
    for (idx j = 0; j < p; j++) {
        double ph = k * b->c[j];
        double pl = fma(k, b->c[j], -ph);
        double hi = ph, lo = pl;
        dd_add(&hi, &lo, b->s_hi[j], b->s_lo[j]);
        tmp->T_hi[j] = hi;
        tmp->T_lo[j] = lo;
    }
    for (idx i = 0; i < p; i++)
        for (idx j = i; j < p; j++) {
            idx ij = i * p + j;
            double hi = b->P_hi[ij], lo = b->P_lo[ij] - sv[i] * sv[j] / k;
            fast_two_sum(hi, lo, &tmp->M_hi[ij], &tmp->M_lo[ij]);
        }
    if (fourth) {
        double *d = b->sigma; /* reuse as scratch: displacement c - mean = -s / k */
        for (idx j = 0; j < p; j++)
            d[j] = -sv[j] / k;
        *tmp->q4 = *b->q4;
        memcpy(tmp->t, b->t, sizeof(double) * (size_t)p);
        shift_fourth(p, k, b->P_hi, sv, d, tmp->q4, tmp->t);
    }
    mh_merge(p, fourth, st->n, st->T_hi, st->T_lo, st->M_hi, st->M_lo, st->q4, st->t, tmp->n,
             tmp->T_hi, tmp->T_lo, tmp->M_hi, tmp->M_lo, tmp->q4, tmp->t);
}

/* 8-lane partial sums (vectorisable without reassociation), combined pairwise */
MH_INLINE double lanes8(const double *acc)
{
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* Column sums of a block of rows (one pass, one vector lane per column). */
MH_CLONES
static void block_sums(const double *restrict X, idx s, idx k, idx p, idx rs, idx cs,
                       double *restrict colsum)
{
    for (idx j = 0; j < p; j++)
        colsum[j] = 0.0;
    if (cs == 1) {
        for (idx r = 0; r < k; r++) {
            const double *restrict x = X + (s + r) * rs;
            for (idx j = 0; j < p; j++)
                colsum[j] += x[j];
        }
    } else {
        for (idx j = 0; j < p; j++) {
            const double *restrict x = X + s * rs + j * cs;
            double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            idx r = 0;
            for (; r + 8 <= k; r += 8)
                for (int l = 0; l < 8; l++)
                    acc[l] += x[(r + l) * rs];
            double sum = lanes8(acc);
            for (; r < k; r++)
                sum += x[r * rs];
            colsum[j] = sum;
        }
    }
}

/* Copy a block of rows into a column tile (tile[j*ld + r] = x[r, j]) and give the column
   means c (the block's shift), summed over the cached tile. */
MH_CLONES
static void load_block(const double *restrict X, idx s, idx k, idx p, idx rs, idx cs,
                       double *restrict tile, idx ld, double *restrict c)
{
    transpose_rows(X, s, k, p, rs, cs, tile, ld);
    for (idx j = 0; j < p; j++) {
        const double *restrict t = tile + j * ld;
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        idx r = 0;
        for (; r + 8 <= k; r += 8)
            for (int l = 0; l < 8; l++)
                acc[l] += t[r + l];
        double sum = lanes8(acc);
        for (; r < k; r++)
            sum += t[r];
        c[j] = sum / (double)k;
    }
}

/* Deviations of a block of rows into a row-major buffer for BLAS: exact: [u1 | r] (k x 2p),
   else [u] (k x p); sums s_hi (exact sum of u1) and s_lo (sum of r). mx: scratch (p). */
MH_CLONES
static void rows_block(const double *restrict X, idx s, idx k, idx p, idx rs, idx cs,
                       const double *restrict c, int exact, double *restrict buf,
                       double *restrict s_hi, double *restrict s_lo, double *restrict mx)
{
    idx m = exact ? 2 * p : p;
    for (idx j = 0; j < p; j++) {
        s_hi[j] = 0.0;
        s_lo[j] = 0.0;
        mx[j] = 0.0;
    }
    for (idx r = 0; r < k; r++) {
        const double *restrict x = X + (s + r) * rs;
        double *restrict b = buf + r * m;
        if (cs == 1) {
            if (exact)
                for (idx j = 0; j < p; j++) {
                    double hi = x[j] - c[j];
                    double bb = hi - x[j];
                    b[p + j] = (x[j] - (hi - bb)) + (-c[j] - bb);
                    b[j] = hi;
                    double ah = fabs(hi);
                    mx[j] = ah > mx[j] ? ah : mx[j];
                }
            else
                for (idx j = 0; j < p; j++) {
                    b[j] = x[j] - c[j];
                    s_hi[j] += b[j];
                }
        } else {
            for (idx j = 0; j < p; j++) {
                double v = x[j * cs];
                double hi = v - c[j];
                if (exact) {
                    double bb = hi - v;
                    b[p + j] = (v - (hi - bb)) + (-c[j] - bb);
                    double ah = fabs(hi);
                    mx[j] = ah > mx[j] ? ah : mx[j];
                } else {
                    s_hi[j] += hi;
                }
                b[j] = hi;
            }
        }
    }
    if (!exact)
        return;
    /* split: the grid of column j is 2^(e_j - SPLIT_BITS), max |hi_j| < 2^e_j */
    double *restrict sigma = mx;
    for (idx j = 0; j < p; j++) {
        double sg = 0.0;
        if (mx[j] > 0 && mx[j] <= 1e300) {
            int e;
            frexp(mx[j], &e);
            sg = ldexp(1.5, e - SPLIT_BITS + 52);
        }
        sigma[j] = sg;
    }
    for (idx r = 0; r < k; r++) {
        double *restrict b = buf + r * m;
        for (idx j = 0; j < p; j++) {
            double hi = b[j];
            double u1 = (hi + sigma[j]) - sigma[j]; /* sigma 0: u1 = hi, r = lo */
            b[j] = u1;
            b[p + j] = (hi - u1) + b[p + j];
            s_hi[j] += u1;
            s_lo[j] += b[p + j];
        }
    }
}

/* In place on a column tile: u = x - c, exactly split into u1 (tile U1) and r (tile R, which
   follows U1 at offset p*ld); s_hi = sum u1 (exact), s_lo = sum r. exact = 0: U1 = x - c in
   double, R unused. */
MH_CLONES
static void split_block(idx k, idx p, double *U1, double *R, idx ld, const double *c,
                        int exact, double *s_hi, double *s_lo)
{
    for (idx j = 0; j < p; j++) {
        double *u = U1 + j * ld, *rr = exact ? R + j * ld : NULL;
        double cj = c[j];
        double a1[8] = {0, 0, 0, 0, 0, 0, 0, 0}, a2[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        idx r = 0;
        if (!exact) {
            for (; r + 8 <= k; r += 8)
                for (int l = 0; l < 8; l++) {
                    double v = u[r + l] - cj;
                    u[r + l] = v;
                    a1[l] += v;
                }
            double sum = lanes8(a1);
            for (; r < k; r++) {
                u[r] -= cj;
                sum += u[r];
            }
            s_hi[j] = sum;
            s_lo[j] = 0.0;
            continue;
        }
        /* x - c = hi + lo exactly (TwoSum); the largest |hi| sets the grid of u1 */
        double mx[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (; r + 8 <= k; r += 8)
            for (int l = 0; l < 8; l++) {
                double x = u[r + l];
                double hi = x - cj;
                double bb = hi - x;
                rr[r + l] = (x - (hi - bb)) + (-cj - bb);
                u[r + l] = hi;
                double ah = fabs(hi);
                mx[l] = ah > mx[l] ? ah : mx[l];
            }
        double m = 0.0;
        for (int l = 0; l < 8; l++)
            m = mx[l] > m ? mx[l] : m;
        for (; r < k; r++) {
            double x = u[r];
            double hi = x - cj;
            double bb = hi - x;
            rr[r] = (x - (hi - bb)) + (-cj - bb);
            u[r] = hi;
            double ah = fabs(hi);
            m = ah > m ? ah : m;
        }
        double sigma = 0.0;
        if (m > 0 && m <= 1e300) {
            int e;
            frexp(m, &e); /* m < 2^e: the grid is 2^(e - SPLIT_BITS), the ulp of sigma */
            sigma = ldexp(1.5, e - SPLIT_BITS + 52);
        }
        r = 0;
        if (sigma != 0.0 && isfinite(sigma)) {
            for (; r + 8 <= k; r += 8)
                for (int l = 0; l < 8; l++) {
                    double hi = u[r + l];
                    double u1 = (hi + sigma) - sigma; /* hi rounded to the grid */
                    u[r + l] = u1;
                    rr[r + l] = (hi - u1) + rr[r + l];
                    a1[l] += u1;
                    a2[l] += rr[r + l];
                }
            for (; r < k; r++) {
                double hi = u[r];
                double u1 = (hi + sigma) - sigma;
                u[r] = u1;
                rr[r] = (hi - u1) + rr[r];
                a1[0] += u1;
                a2[0] += rr[r];
            }
        } else { /* zero (or non-finite) column: nothing to split */
            for (; r < k; r++) {
                a1[0] += u[r];
                a2[0] += rr[r];
            }
        }
        s_hi[j] = lanes8(a1);
        s_lo[j] = lanes8(a2);
    }
}

/*
 * Pair sums over a column tile U (p4 columns of ld rows, zero-padded to k8 rows and p4 columns,
 * both multiples of 8 and 4): P_ij = sum_r U[i, r] U[j, r] for i <= j (fast mode), in 4 x 4
 * blocks of columns (16 vector accumulators, 8 loads per 16 fused multiply-adds).
 * Exact mode: G = sum u1_i u1_j (exact) and H = sum (u1_i r_j + r_i u_j) with u = u1 + r, in
 * 2 x 2 blocks; P = G + H as a double-double. Upper triangle of P, row-major (p x p).
 */
MH_CLONES
static void pair_sums(idx k8, idx p, const double *U1, const double *R, idx ld, int exact,
                      double *P_hi, double *P_lo)
{
    if (!exact) {
        for (idx I = 0; I < p; I += 4)
            for (idx J = I; J < p; J += 4) {
                v8d a[4][4];
                memset(a, 0, sizeof a);
                const double *ui[4], *uj[4];
                for (int x = 0; x < 4; x++) {
                    ui[x] = U1 + (I + x) * ld;
                    uj[x] = U1 + (J + x) * ld;
                }
                for (idx r = 0; r < k8; r += 8) {
                    v8d vi0 = ld8(ui[0] + r), vi1 = ld8(ui[1] + r), vi2 = ld8(ui[2] + r),
                        vi3 = ld8(ui[3] + r);
                    v8d vj0 = ld8(uj[0] + r), vj1 = ld8(uj[1] + r), vj2 = ld8(uj[2] + r),
                        vj3 = ld8(uj[3] + r);
                    a[0][0] += vi0 * vj0; a[0][1] += vi0 * vj1; a[0][2] += vi0 * vj2;
                    a[0][3] += vi0 * vj3; a[1][0] += vi1 * vj0; a[1][1] += vi1 * vj1;
                    a[1][2] += vi1 * vj2; a[1][3] += vi1 * vj3; a[2][0] += vi2 * vj0;
                    a[2][1] += vi2 * vj1; a[2][2] += vi2 * vj2; a[2][3] += vi2 * vj3;
                    a[3][0] += vi3 * vj0; a[3][1] += vi3 * vj1; a[3][2] += vi3 * vj2;
                    a[3][3] += vi3 * vj3;
                }
                for (int x = 0; x < 4 && I + x < p; x++)
                    for (int y = 0; y < 4 && J + y < p; y++)
                        if (I + x <= J + y) {
                            P_hi[(I + x) * p + J + y] = hsum8(a[x][y]);
                            P_lo[(I + x) * p + J + y] = 0.0;
                        }
            }
        return;
    }
    for (idx I = 0; I < p; I += 2)
        for (idx J = I; J < p; J += 2) {
            v8d g00 = {0}, g01 = {0}, g10 = {0}, g11 = {0};
            v8d h00 = {0}, h01 = {0}, h10 = {0}, h11 = {0};
            const double *u1i0 = U1 + I * ld, *u1i1 = U1 + (I + 1) * ld;
            const double *ri0 = R + I * ld, *ri1 = R + (I + 1) * ld;
            const double *u1j0 = U1 + J * ld, *u1j1 = U1 + (J + 1) * ld;
            const double *rj0 = R + J * ld, *rj1 = R + (J + 1) * ld;
            for (idx r = 0; r < k8; r += 8) {
                v8d a0 = ld8(u1i0 + r), a1 = ld8(u1i1 + r), e0 = ld8(ri0 + r),
                    e1 = ld8(ri1 + r);
                v8d b0 = ld8(u1j0 + r), b1 = ld8(u1j1 + r), f0 = ld8(rj0 + r),
                    f1 = ld8(rj1 + r);
                v8d w0 = b0 + f0, w1 = b1 + f1;
                g00 += a0 * b0; g01 += a0 * b1; g10 += a1 * b0; g11 += a1 * b1;
                h00 += a0 * f0 + e0 * w0; h01 += a0 * f1 + e0 * w1;
                h10 += a1 * f0 + e1 * w0; h11 += a1 * f1 + e1 * w1;
            }
            v8d *gs[2][2] = {{&g00, &g01}, {&g10, &g11}};
            v8d *hs[2][2] = {{&h00, &h01}, {&h10, &h11}};
            for (int x = 0; x < 2 && I + x < p; x++)
                for (int y = 0; y < 2 && J + y < p; y++)
                    if (I + x <= J + y)
                        two_sum(hsum8(*gs[x][y]), hsum8(*hs[x][y]),
                                &P_hi[(I + x) * p + J + y], &P_lo[(I + x) * p + J + y]);
        }
}

/* fourth-moment sums about c: q = sum ||u||^4, t = sum ||u||^2 u (u = U1 + R) */
MH_CLONES
static void fourth_sums(idx k, idx p, const double *U1, const double *R, idx ld, double *a,
                        double *q, double *t)
{
    for (idx r = 0; r < k; r++)
        a[r] = 0.0;
    for (idx j = 0; j < p; j++) {
        const double *u = U1 + j * ld, *rr = R ? R + j * ld : NULL;
        for (idx r = 0; r < k; r++) {
            double v = rr ? u[r] + rr[r] : u[r];
            a[r] += v * v;
        }
    }
    double qa[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    idx r = 0;
    for (; r + 8 <= k; r += 8)
        for (int l = 0; l < 8; l++)
            qa[l] += a[r + l] * a[r + l];
    double qs = lanes8(qa);
    for (; r < k; r++)
        qs += a[r] * a[r];
    *q = qs;
    for (idx j = 0; j < p; j++) {
        const double *u = U1 + j * ld, *rr = R ? R + j * ld : NULL;
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        r = 0;
        for (; r + 8 <= k; r += 8)
            for (int l = 0; l < 8; l++)
                acc[l] += a[r + l] * (rr ? u[r + l] + rr[r + l] : u[r + l]);
        double sum = lanes8(acc);
        for (; r < k; r++)
            sum += a[r] * (rr ? u[r] + rr[r] : u[r]);
        t[j] = sum;
    }
}

/* fourth-moment sums about c from a row-major buffer [u1 | r] or [u] */
MH_CLONES
static void fourth_rows(idx k, idx p, const double *restrict buf, int exact, double *q,
                        double *restrict t)
{
    idx m = exact ? 2 * p : p;
    double qs = 0.0;
    for (idx j = 0; j < p; j++)
        t[j] = 0.0;
    for (idx r = 0; r < k; r++) {
        const double *restrict b = buf + r * m;
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, a = 0.0;
        idx j = 0;
        for (; j + 8 <= p; j += 8)
            for (int l = 0; l < 8; l++) {
                double v = exact ? b[j + l] + b[p + j + l] : b[j + l];
                acc[l] += v * v;
            }
        for (; j < p; j++) {
            double v = exact ? b[j] + b[p + j] : b[j];
            a += v * v;
        }
        a += lanes8(acc);
        qs += a * a;
        for (j = 0; j < p; j++)
            t[j] += a * (exact ? b[j] + b[p + j] : b[j]);
    }
    *q = qs;
}

/*
 * Accumulate rows [0, n) of X into the state, in blocks of kb rows (kb <= KB_MAX; exact mode
 * needs kb <= KB_EXACT). Pair sums by the direct loop (p <= direct_max) or by BLAS syrk on the
 * column tile [u1 | r] (k x 2p, leading dimension kb) or [u] (k x p). work: scratch of at
 * least mh_moments_work(p, kb) doubles.
 */
MH_EXPORT void mh_moments(const double *X, idx n, idx p, idx rs, idx cs, int exact, int fourth,
                          double *sn, double *T_hi, double *T_lo, double *M_hi, double *M_lo,
                          double *q4, double *t,
                          double *work, void *syrk, idx direct_max, idx kb)
{
    state_t st = {sn, T_hi, T_lo, M_hi, M_lo, q4, t};
    idx pp = p * p;
    if (exact && kb > KB_EXACT)
        kb = KB_EXACT;
    if (kb >= 16)
        kb = kb / 8 * 8; /* the direct path pads each tile column to a multiple of 8 rows */
    double *w = work;
    idx p4 = (p + 3) / 4 * 4;            /* tiles padded to whole blocks of 4 columns */
    double *U1 = w; w += p4 * kb;
    double *R = w; w += p4 * kb;
    double *C = w; w += 4 * pp;          /* syrk result (2p x 2p) */
    block_t b;
    b.c = w; w += p;
    b.s_hi = w; w += p;
    b.s_lo = w; w += p;
    b.emax = w; w += p;
    b.sigma = w; w += p;
    b.P_hi = w; w += pp;
    b.P_lo = w; w += pp;
    b.t = w; w += p;
    double bq4 = 0.0;
    b.q4 = &bq4;
    double *a = w; w += kb;
    double tn = 0.0, tq4 = 0.0;
    state_t tmp;
    tmp.n = &tn;
    tmp.q4 = &tq4;
    tmp.T_hi = w; w += p;
    tmp.T_lo = w; w += p;
    tmp.M_hi = w; w += pp;
    tmp.M_lo = w; w += pp;
    tmp.t = w; w += p;
    int use_blas = !(p <= direct_max) && syrk != NULL;
    for (idx s = 0; s < n; s += kb) {
        idx k = n - s < kb ? n - s : kb;
        if (!use_blas) {
            load_block(X, s, k, p, rs, cs, U1, kb, b.c);
            split_block(k, p, U1, R, kb, b.c, exact, b.s_hi, b.s_lo);
            idx k8 = (k + 7) / 8 * 8;
            for (idx j = 0; j < p4; j++)  /* zero padding: rows k..k8, columns p..p4 */
                for (idx r = (j < p ? k : 0); r < k8; r++) {
                    U1[j * kb + r] = 0.0;
                    R[j * kb + r] = 0.0;
                }
            pair_sums(k8, p, U1, R, kb, exact, b.P_hi, b.P_lo);
        } else {
            block_sums(X, s, k, p, rs, cs, b.c);
            for (idx j = 0; j < p; j++)
                b.c[j] /= (double)k;
            rows_block(X, s, k, p, rs, cs, b.c, exact, U1, b.s_hi, b.s_lo, b.emax);
            idx m = exact ? 2 * p : p;
            fint fm = (fint)m, fk = (fint)k;
            double one = 1.0, zero = 0.0;
            char uplo = 'U', tr = 'N';
            /* the row-major (k x m) buffer B is the Fortran (m x k) B^T: C := B^T B */
            ((dsyrk_t)syrk)(&uplo, &tr, &fm, &fk, &one, U1, &fm, &zero, C, &fm);
            for (idx i = 0; i < p; i++)
                for (idx j = i; j < p; j++) {
                    /* column-major upper: entry (i, j), i <= j, at C[i + j*m] */
                    double g = C[i + j * m];
                    if (exact) {
                        double h = C[i + (p + j) * m] + C[j + (p + i) * m]
                                   + C[(p + i) + (p + j) * m];
                        two_sum(g, h, &b.P_hi[i * p + j], &b.P_lo[i * p + j]);
                    } else {
                        b.P_hi[i * p + j] = g;
                        b.P_lo[i * p + j] = 0.0;
                    }
                }
        }
        if (fourth) {
            if (use_blas)
                fourth_rows(k, p, U1, exact, b.q4, b.t);
            else
                fourth_sums(k, p, U1, exact ? R : NULL, kb, a, b.q4, b.t);
        }
        merge_block(p, fourth, (double)k, &b, &st, &tmp);
    }
}

/* doubles of scratch mh_moments needs for p features and blocks of kb rows */
MH_EXPORT idx mh_moments_work(idx p, idx kb)
{
    return 2 * (p + 3) * kb + 8 * p * p + 16 * p + kb + 8;
}

/* ------------------------------------------------------------------------ all pairs */
/* row[j] := row[j] + ai + nb2[j] (row holds -2 a.b) for j in [j0, nb), in vector lanes;
   returns whether some entry is below rtol (ai + nb2[j]) (cancellation: recompute it). */
MH_CLONES
static int pairwise_expand(double *restrict row, idx j0, idx nb, double ai,
                           const double *restrict nb2, double rtol)
{
    int near = 0;
    for (idx j = j0; j < nb; j++) {
        double scale = ai + nb2[j];
        double d = row[j] + scale;
        row[j] = d;
        near |= d < rtol * scale;
    }
    return near;
}

/* row[j] := max(row[j], 0) (NaN stays NaN), or its square root, for j in [j0, nb), in
   vector lanes */
MH_CLONES
static void pairwise_finish(double *restrict row, idx j0, idx nb, int take_sqrt)
{
    if (take_sqrt)
        for (idx j = j0; j < nb; j++)
            row[j] = sqrt(row[j] < 0.0 ? 0.0 : row[j]);
    else
        for (idx j = j0; j < nb; j++)
            row[j] = row[j] < 0.0 ? 0.0 : row[j];
}

/*
 * Rows [i0, i1) of the squared distance matrix between whitened sets ZA (na x p) and ZB
 * (nb x p), both C-ordered: out[i, j] = |a_i|^2 + |b_j|^2 - 2 a_i.b_j from one dgemm per panel
 * of `panel` rows, clamped at 0. Entries below rtol (|a|^2 + |b|^2) (cancellation) are
 * recomputed as ||W (xa_i - xb_j)||^2 from the raw rows XA, XB (C-ordered, strides p) and the
 * C-ordered triangular W (lower or upper), which keeps their relative accuracy. symmetric: ZB is
 * ZA; the diagonal is set to 0 and only columns j >= panel start are computed (the caller
 * mirrors). take_sqrt: square roots. ld: row stride of out.
 */
MH_EXPORT void mh_pairwise_rows(const double *ZA, const double *ZB, const double *na2,
                                const double *nb2, const double *XA, const double *XB,
                                const double *W, int lower, idx na, idx nb, idx p, idx i0,
                                idx i1, double *out, idx ld, int symmetric, double rtol,
                                int take_sqrt, idx panel, void *gemm, double *scratch)
{
    (void)na;
    double m2 = -2.0, zero = 0.0;
    char tn = 'T', nn = 'N';
    fint fp = (fint)p;
    for (idx a0 = i0; a0 < i1; a0 += panel) {
        idx a1 = a0 + panel < i1 ? a0 + panel : i1;
        idx j0 = symmetric ? a0 : 0;
        fint fm = (fint)(nb - j0), fk = (fint)(a1 - a0), fld = (fint)ld;
        double *o = out + a0 * ld + j0;
        if (fm > 0)
            /* Fortran view: o^T (m x k) = ZB[j0:]^T^T ... : C(nb-j0, a1-a0) = ZB_rows * ZA_rows^T */
            ((dgemm_t)gemm)(&tn, &nn, &fm, &fk, &fp, &m2, (double *)(ZB + j0 * p), &fp,
                            (double *)(ZA + a0 * p), &fp, &zero, o, &fld);
        for (idx i = a0; i < a1; i++) {
            double *row = out + i * ld;
            double ai = na2[i];
            if (pairwise_expand(row, j0, nb, ai, nb2, rtol))
                for (idx j = j0; j < nb; j++) {
                    double scale = ai + nb2[j];
                    if (row[j] < rtol * scale) {
                        /* the expansion cancels: recompute ||W (xa_i - xb_j)||^2 */
                        const double *xa = XA + i * p, *xb = XB + j * p;
                        double *dv = scratch;
                        for (idx l = 0; l < p; l++)
                            dv[l] = xa[l] - xb[l];
                        double acc = 0.0;
                        for (idx kx = 0; kx < p; kx++) {
                            const double *wk = W + kx * p;
                            idx lo = lower ? 0 : kx, hi = lower ? kx : p - 1;
                            double z = 0.0;
                            for (idx l = lo; l <= hi; l++)
                                z += wk[l] * dv[l];
                            acc += z * z;
                        }
                        row[j] = acc;
                    }
                }
            pairwise_finish(row, j0, nb, take_sqrt);
            if (symmetric)
                row[i] = 0.0;
        }
    }
}

/* out[j, i] = out[i, j] for j > i (n x n, row stride ld), in cache-sized tiles */
MH_EXPORT void mh_mirror_upper(double *out, idx n, idx ld)
{
    const idx T = 64;
    for (idx i0 = 0; i0 < n; i0 += T)
        for (idx j0 = i0; j0 < n; j0 += T) {
            idx i1 = i0 + T < n ? i0 + T : n, j1 = j0 + T < n ? j0 + T : n;
            for (idx i = i0; i < i1; i++)
                for (idx j = (j0 > i + 1 ? j0 : i + 1); j < j1; j++)
                    out[j * ld + i] = out[i * ld + j];
        }
}

/* ------------------------------------------------------------------------ Qn */
/* The k-th smallest (1-based) of y_j - y_i over i < j for sorted y: the O(n log n) selection
 * of Croux & Rousseeuw (1992), robustbase's qn0, step for step as _scale._qn_order_statistic
 * (its numpy twin; the result is the same order statistic). cast: differences rounded to
 * single precision as robustbase 0.95-0's qn_sn.c. Scratch: iwork 4 n int64, dwork 2 n
 * doubles; the final candidates go to cand (at most n^2 / 2 + n; returned count in *ncand)
 * when the selection is not finished, with the rank to select in *kfinal (return 0); else
 * the order statistic is returned in *out (return 1). */
static double qn_diff(const double *y, idx a, idx b, int cast)
{
    double v = y[a] - y[b];
    return cast ? (double)(float)v : v;
}

/* Weighted high median of a[0:m] with weights w (both permuted): the smallest a_j whose
 * cumulative weight (in sorted order) exceeds half the total, by three-way partitions around
 * a median-of-three pivot, as robustbase's whimed_i (expected O(m)). */
MH_INLINE void qn_swap(double *a, double *w, idx i, idx j)
{
    double t = a[i]; a[i] = a[j]; a[j] = t;
    t = w[i]; w[i] = w[j]; w[j] = t;
}

static double qn_whimed(double *a, double *w, idx m)
{
    double total = 0.0, wrest = 0.0;
    for (idx t = 0; t < m; t++)
        total += w[t];
    idx lo = 0, hi = m; /* active range [lo, hi); wrest: weight of the values below it */
    for (;;) {
        double x0 = a[lo], x1 = a[lo + (hi - lo) / 2], x2 = a[hi - 1];
        double piv = x0 < x1 ? (x1 < x2 ? x1 : (x0 < x2 ? x2 : x0))
                             : (x0 < x2 ? x0 : (x1 < x2 ? x2 : x1));
        idx lt = lo, i = lo, gt = hi; /* [lo, lt) < piv, [lt, gt) == piv, [gt, hi) > piv */
        while (i < gt) {
            if (a[i] < piv)
                qn_swap(a, w, lt++, i++);
            else if (a[i] > piv)
                qn_swap(a, w, i, --gt);
            else
                i++;
        }
        double wl = 0.0, wm = 0.0;
        for (idx t = lo; t < lt; t++)
            wl += w[t];
        for (idx t = lt; t < gt; t++)
            wm += w[t];
        if (2.0 * (wrest + wl) > total)
            hi = lt;
        else if (2.0 * (wrest + wl + wm) > total)
            return piv;
        else {
            wrest += wl + wm;
            lo = gt;
        }
    }
}

MH_EXPORT int mh_qn0(const double *y, idx n, idx k, int cast, idx *iwork, double *dwork,
                     double *cand, idx cand_cap, idx *ncand, idx *kfinal, double *out)
{
    idx *left = iwork, *right = iwork + n, *P = iwork + 2 * n, *Q = iwork + 3 * n;
    double *work = dwork, *wgt = dwork + n;
    idx nl = n * (n + 1) / 2, nr = n * n, knew = k + nl, h = n / 2 + 1;
    idx k_l = (idx)(5 - 1.75 * (n % 2) + (0.3939 - 0.0067 * (n % 2)) * (double)(n * (n - 1)));
    for (idx i = 0; i < n; i++) {
        left[i] = n - i + 1;
        right[i] = (k >= k_l || i <= h) ? n : n - (i - h);
    }
    while (nr - nl > n) {
        idx m = 0;
        for (idx i = 1; i < n; i++)
            if (left[i] <= right[i]) {
                idx w = right[i] - left[i] + 1;
                work[m] = qn_diff(y, i, n - (left[i] + w / 2), cast);
                wgt[m] = (double)w;
                m++;
            }
        double trial = qn_whimed(work, wgt, m);
        /* P_i = #{j : c(y_i - y_j) < trial} (a suffix of j), Q_i = n + 1 - #{j : c(y_i - y_j)
         * > trial} (a prefix); both boundaries move right as i grows */
        idx lo = 0, gt = 0, sump = 0, sumq = 0;
        for (idx i = 0; i < n; i++) {
            while (lo < n && !(qn_diff(y, i, lo, cast) < trial))
                lo++;
            while (gt < n && qn_diff(y, i, gt, cast) > trial)
                gt++;
            P[i] = n - lo;
            Q[i] = n + 1 - gt;
            sump += P[i];
            sumq += Q[i] - 1;
        }
        if (knew <= sump) {
            memcpy(right, P, (size_t)n * sizeof(idx));
            nr = sump;
        } else if (knew > sumq) {
            memcpy(left, Q, (size_t)n * sizeof(idx));
            nl = sumq;
        } else {
            *out = trial;
            return 1;
        }
    }
    idx m = 0;
    for (idx i = 1; i < n; i++)
        for (idx jj = left[i]; jj <= right[i]; jj++) {
            if (m >= cand_cap)
                return -1;
            cand[m++] = y[i] - y[n - jj]; /* not rounded, as qn_sn.c's last step */
        }
    *ncand = m;
    idx kf = knew - (nl + 1);
    *kfinal = kf < 0 ? 0 : (kf > m - 1 ? m - 1 : kf);
    return 0;
}

/* k-th smallest (0-based) of a[0:m], a permuted (Hoare-style quickselect). */
static double qn_select(double *a, idx m, idx k)
{
    idx lo = 0, hi = m - 1;
    while (lo < hi) {
        double x0 = a[lo], x1 = a[lo + (hi - lo) / 2], x2 = a[hi];
        double piv = x0 < x1 ? (x1 < x2 ? x1 : (x0 < x2 ? x2 : x0))
                             : (x0 < x2 ? x0 : (x1 < x2 ? x2 : x1));
        idx lt = lo, i = lo, gt = hi + 1;
        while (i < gt) {
            if (a[i] < piv) { double t = a[lt]; a[lt++] = a[i]; a[i++] = t; }
            else if (a[i] > piv) { double t = a[--gt]; a[gt] = a[i]; a[i] = t; }
            else i++;
        }
        if (k < lt) hi = lt - 1;
        else if (k >= gt) lo = gt;
        else return piv;
    }
    return a[k];
}

/* mh_qn0 for each of the m sorted rows of Y (m x n, row stride ld): out[r]; returns the
 * number of rows that needed more candidate space than cap (their out is NaN). */
MH_EXPORT idx mh_qn0_rows(const double *Y, idx m, idx n, idx ld, idx k, int cast, idx *iwork,
                          double *dwork, double *cand, idx cap, double *out)
{
    idx failed = 0;
    for (idx r = 0; r < m; r++) {
        idx ncand = 0, kf = 0;
        double v = NAN;
        int rc = mh_qn0(Y + r * ld, n, k, cast, iwork, dwork, cand, cap, &ncand, &kf, &v);
        if (rc == 0)
            v = qn_select(cand, ncand, kf);
        else if (rc < 0)
            failed++;
        out[r] = v;
    }
    return failed;
}

/* ------------------------------------------------------------------------ module */
static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_ckernels",
                                       "Compiled kernels of mahalanobis (called via ctypes).",
                                       -1, NULL, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__ckernels(void) { return PyModule_Create(&moduledef); }

/* ------------------------------------------------------------------------ missing cells */
/*
 * mh_marginal: squared distances of rows with missing (NaN) cells on their observed
 * coordinates, D^2_o = x_o^T (S_oo)^-1 x_o (x centred), one pass over each chunk of rows:
 *
 * 1. copy the chunk, missing cells replaced by the centre (so x~ = x - c has zeros there),
 *    flagging them and counting the rows holding an infinite value;
 * 2. q = ||W x~||^2 = x~^T P x~ for every row by the distance kernel above (mh_sqdist: a
 *    complete row gets its nan_policy="raise" number, exactly so for the register-blocked
 *    kernel; the BLAS path's blocking may move the last bit);
 * 3. the incomplete rows, sorted by their number k of missing cells, eight with the same k
 *    at a time (one per vector lane), o = p - k observed cells, by the cheaper of
 *    - precision form (k <= o): z_m = P_m. x~, D^2_o = q - z_m^T (P_mm)^-1 z_m (the Schur
 *      complement identity (S_oo)^-1 = P_oo - P_om P_mm^-1 P_mo), O(k p + k^3);
 *    - covariance form (k > o): D^2_o = x~_o^T (S_oo)^-1 x~_o, O(o^3);
 *    the k x k (o x o) block of each lane is gathered and factored as L D L^T (no square
 *    roots) in vector arithmetic: no per-pattern grouping, no branch on the pattern.
 * With ximp non-NULL the row with its missing cells replaced by their conditional mean given
 * the observed ones (the E-step) is written too: x_m = c_m - P_mm^-1 z_m, or
 * c_m + S_mo S_oo^-1 x~_o. A row with nothing observed gets NaN (and the centre in ximp).
 */
MH_INLINE double dot_v8(const double *a, const double *b, idx p)
{
    v8d acc = {0};
    idx j = 0;
    for (; j + 8 <= p; j += 8)
        acc += ld8(a + j) * ld8(b + j);
    double s = 0.0;
    for (; j < p; j++)
        s += a[j] * b[j];
    return s + hsum8(acc);
}

/* Up to eight rows of the chunk (rws, nl of them) with k missing cells each, one per vector
   lane, in the precision (prec) or covariance form. out / ximp are the chunk's (out holds
   q); F8 has room for p^2 + p vectors, mi for 8 (2p + 2) indices, v for 8 p doubles. Returns
   the number of rows whose block did not factor (NaN there). */
MH_INLINE idx marginal_group8(const idx *rws, int nl, idx k, idx p, int prec,
                              const double *buf, const unsigned char *flag, const double *c,
                              const double *P, const double *S, double *out, double *ximp,
                              v8d *F8, idx *mi, double *v)
{
    idx kf = prec ? k : p - k; /* order of the factored block */
    v8d *z = F8 + kf * kf;
    const double *G = prec ? P : S;
    for (int l = 0; l < 8; l++) {
        idx r = rws[l < nl ? l : nl - 1]; /* spare lanes repeat the last row */
        const unsigned char *f = flag + r * p;
        const double *b = buf + r * p;
        idx *ml = mi + l * (2 * p + 2), *ol = ml + p + 1, t = 0, u = 0;
        double *vl = v + l * p;
        for (idx j = 0; j < p; j++) { /* missing (ml) and observed (ol) columns */
            ml[t] = j;
            ol[u] = j;
            t += f[j];
            u += 1 - f[j];
            vl[j] = b[j] - c[j]; /* exactly 0 at the missing cells */
        }
        const idx *fi = prec ? ml : ol;
        for (idx a = 0; a < kf; a++) {
            const double *Ga = G + fi[a] * p;
            z[a][l] = prec ? dot_v8(Ga, vl, p) : vl[fi[a]];
            for (idx e = 0; e <= a; e++)
                F8[a * kf + e][l] = Ga[fi[e]];
        }
    }
    v8i bad = {0};
    for (idx j = 0; j < kf; j++) { /* L D L^T in place: L below the diagonal, 1/D on it */
        v8d d = F8[j * kf + j];
        bad |= (v8i)(d <= 0.0);
        v8d rd = 1.0 / d;
        F8[j * kf + j] = rd;
        for (idx i = j + 1; i < kf; i++) {
            v8d *Fi = F8 + i * kf;
            v8d a = Fi[j], l = a * rd;
            for (idx e = j + 1; e < i; e++)
                Fi[e] -= a * F8[e * kf + j]; /* F8[e, j] already holds L[e, j] */
            Fi[i] -= a * l;
            Fi[j] = l;
        }
    }
    v8d ss = {0};
    for (idx i = 0; i < kf; i++) { /* z := L^-1 z; ss = z^T F^-1 z */
        const v8d *Fi = F8 + i * kf;
        v8d s = z[i];
        for (idx l = 0; l < i; l++)
            s -= Fi[l] * z[l];
        z[i] = s;
        ss += s * s * Fi[i];
    }
    if (ximp != NULL)
        for (idx i = kf - 1; i >= 0; i--) { /* z := L^-T D^-1 z (= F^-1 z_original) */
            v8d s = z[i] * F8[i * kf + i];
            for (idx l = i + 1; l < kf; l++)
                s -= F8[l * kf + i] * z[l];
            z[i] = s;
        }
    idx failed = 0;
    for (int l = 0; l < nl; l++) {
        idx r = rws[l];
        if (bad[l]) {
            out[r] = NAN;
            failed++;
            continue;
        }
        double d2 = prec ? out[r] - ss[l] : ss[l];
        out[r] = d2 > 0.0 ? d2 : 0.0;
        if (ximp == NULL)
            continue;
        const idx *ml = mi + l * (2 * p + 2), *ol = ml + p + 1;
        for (idx a = 0; a < k; a++) {
            double adj;
            if (prec) {
                adj = -z[a][l];
            } else {
                const double *Sm = S + ml[a] * p;
                adj = 0.0;
                for (idx e = 0; e < kf; e++)
                    adj += Sm[ol[e]] * z[e][l];
            }
            ximp[r * p + ml[a]] = c[ml[a]] + adj;
        }
    }
    return failed;
}

MH_CLONES
static idx marginal_rows(const double *X, idx n, idx p, idx rs, idx cs, const double *c,
                         const double *W, const double *Wf, int lower, const double *P,
                         const double *S, double *out, int64_t *nobs, double *ximp,
                         idx rows, void *trmm, idx direct_max, idx *nfail)
{
    idx ninf = 0, failed = 0;
    double *buf = malloc(sizeof(double) * (size_t)(2 * rows * p + 8 * p));
    idx *mis = malloc(sizeof(idx) * (size_t)(2 * rows + 16 * p + 16 + p + 2));
    unsigned char *flag = malloc((size_t)(rows * p));
    v8d *F8 = aligned_alloc(64, sizeof(v8d) * (size_t)(p * p + p + 1));
    if (buf == NULL || mis == NULL || flag == NULL || F8 == NULL) {
        free(buf);
        free(mis);
        free(flag);
        free(F8);
        *nfail = -1;
        return 0;
    }
    double *scratch = buf + rows * p, *v = scratch + rows * p;
    idx *kk = mis, *order = kk + rows, *mi = order + rows, *start = mi + 16 * p + 16;
    for (idx s0 = 0; s0 < n; s0 += rows) {
        idx m = n - s0 < rows ? n - s0 : rows;
        for (idx r = 0; r < m; r++) { /* 1. copy with NaN -> centre (no branches) */
            const double *x = X + (s0 + r) * rs;
            double *b = buf + r * p;
            unsigned char *f = flag + r * p;
            int inf = 0;
            idx k = 0;
            for (idx j = 0; j < p; j++) {
                double xj = x[j * cs];
                int nan = xj != xj;
                inf |= fabs(xj) == INFINITY;
                f[j] = (unsigned char)nan;
                b[j] = nan ? c[j] : xj;
            }
            for (idx j = 0; j < p; j++)
                k += f[j];
            kk[r] = k;
            ninf += inf;
            nobs[s0 + r] = p - k;
            if (ximp != NULL)
                memcpy(ximp + (s0 + r) * p, b, sizeof(double) * (size_t)p);
        }
        /* 2. q for every row */
        mh_sqdist(buf, m, p, p, 1, c, W, Wf, lower, 0, out + s0, scratch, rows, trmm,
                  direct_max);
        /* 3. the incomplete rows by their number of missing cells (a counting sort) */
        for (idx k = 0; k <= p + 1; k++)
            start[k] = 0;
        for (idx r = 0; r < m; r++)
            start[kk[r] + 1]++;
        for (idx k = 1; k <= p + 1; k++)
            start[k] += start[k - 1];
        for (idx r = 0; r < m; r++)
            order[start[kk[r]]++] = r; /* now start[k] ends the rows with k missing */
        for (idx g = start[p - 1]; g < start[p]; g++)
            out[s0 + order[g]] = NAN; /* nothing observed */
        for (idx k = 1; k < p; k++)
            for (idx g = start[k - 1]; g < start[k]; g += 8) {
                int nl = start[k] - g < 8 ? (int)(start[k] - g) : 8;
                failed += marginal_group8(order + g, nl, k, p, 2 * k <= p, buf, flag, c, P, S,
                                          out + s0, ximp == NULL ? NULL : ximp + s0 * p, F8,
                                          mi, v);
            }
    }
    free(buf);
    free(mis);
    free(flag);
    free(F8);
    *nfail = failed;
    return ninf;
}

/* The entry point of marginal_rows (rows [0, n) of X, element strides rs, cs; W/Wf, rows, trmm
   and direct_max as for mh_sqdist; P = S^-1 and S full, C order). out: D^2 on the observed
   coordinates; nobs: observed counts; ximp (n x p, C order, or NULL): the imputed rows;
   *nfail: rows whose block failed to factor (NaN there; -1 when memory ran out).
   Returns the number of rows holding an infinite value. */
MH_EXPORT idx mh_marginal(const double *X, idx n, idx p, idx rs, idx cs, const double *c,
                          const double *W, const double *Wf, int lower, const double *P,
                          const double *S, double *out, int64_t *nobs, double *ximp,
                          idx rows, void *trmm, idx direct_max, idx *nfail)
{
    return marginal_rows(X, n, p, rs, cs, c, W, Wf, lower, P, S, out, nobs, ximp, rows, trmm,
                         direct_max, nfail);
}
