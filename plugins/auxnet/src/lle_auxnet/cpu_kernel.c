/* AuxNet's inference block as one CPU kernel (lle_auxnet.cpu_kernel loads it).
 *
 * Computes, for output rows [y0, y1) of one image, exactly the plain eval forward of
 * lle_auxnet.model.AuxNet (fe_wiring "per_stage", 4-channel stem branches, hidden width 4):
 *
 *   F = cat_b ReLU(conv3x3_{d_b}(S))          stem, nb branches of 3 -> 4 channels
 *   h1 = ReLU(conv3x3(F)), h2 = ReLU(conv3x3(h1))   (batch norm folded into h2's weights)
 *   u = sigmoid(conv3x3(h2)),  L = clamp(S + u, floor, 1),  out = S / L
 *
 * with zero padding at the image border for every convolution, in float32. Why a kernel of our
 * own: oneDNN vectorises over output channels, and AuxNet's layers have 3 or 4, so three
 * quarters of every vector register are idle; here vectors run along the image row instead
 * (16 pixels at a time, every output channel in its own register), which keeps the fused
 * multiply-adds busy. The rows [y0, y1) are computed with a halo of recomputed rows, so
 * independent calls on disjoint row ranges (one per thread) need no synchronisation.
 *
 * Portable C11 with GCC/Clang vector extensions: on AVX-512 a vector is one register, on AVX2
 * two, on NEON four. No dependency beyond the C library (and not even libm). Compiled with
 * -fopenmp, auxnet_image runs the bands on the OpenMP threads PyTorch already uses (the
 * library binds to the libgomp.so.1 torch has loaded), so no second set of threads competes
 * with PyTorch's spinning workers for the cores.
 *
 * Two precisions: float32 throughout (equal to the plain forward to rounding), and, on CPUs with
 * AVX512-BF16 (use_bf16 = 1), every convolution on bfloat16 inputs and weights with float32
 * accumulation (vdpbf16ps: two multiply-adds per lane and instruction); the sigmoid and the
 * Retinex tail stay float32 and read the float32 input. Features then live as "pair planes": one 32-bit
 * word per pixel holding channels 2k (low half) and 2k + 1 (high half) as bfloat16.
 */
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#define HAVE_BF16_DOT 1
#else
#define HAVE_BF16_DOT 0
#endif

#define VL 16           /* pixels per vector */
#define MARGIN 8        /* zero columns left of every buffer row (largest dilation allowed) */
#define MAX_BRANCHES 8

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

static inline v16 load(const float *p) { return *(const v16u *)p; }
static inline void store(float *p, v16 v) { *(v16u *)p = v; }
static inline v16 splat(float x) { return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
static inline v16 vmax(v16 a, v16 b) { v16i m = a > b; return (v16)(((v16i)a & m) | ((v16i)b & ~m)); }
static inline v16 vmin(v16 a, v16 b) { v16i m = a < b; return (v16)(((v16i)a & m) | ((v16i)b & ~m)); }
static inline v16 relu(v16 a) { return (v16)((v16i)a & (a > splat(0.0f))); }

typedef uint32_t v16w __attribute__((vector_size(64)));
typedef uint32_t v16wu __attribute__((vector_size(64), aligned(4)));

/* float32 -> bfloat16 bits, rounded to nearest even (inputs are finite). */
static inline uint32_t bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
}

/* Two float32 vectors (channels 2k and 2k + 1) -> one vector of bfloat16 pairs. */
static inline v16w to_pairs(v16 even, v16 odd) {
    v16w lo = (v16w)even, hi = (v16w)odd;
    lo = (lo + 0x7FFFu + ((lo >> 16) & 1u)) >> 16;
    hi = (hi + 0x7FFFu + ((hi >> 16) & 1u)) & 0xFFFF0000u;
    return hi | lo;
}

/* Stores COUT accumulators: float32 planes, or (pairs != 0) COUT / 2 pair planes. */
#define STORE_OUTPUTS(COUT, acc, out, ops, x, apply_relu, pairs)                               \
    do {                                                                                       \
        if (apply_relu)                                                                        \
            for (int o = 0; o < COUT; o++) acc[o] = relu(acc[o]);                              \
        if (pairs)                                                                             \
            for (int o = 0; o + 1 < COUT; o += 2)                                              \
                *(v16wu *)(out + (o / 2) * ops + x) = to_pairs(acc[o], acc[o + 1]);            \
        else                                                                                   \
            for (int o = 0; o < COUT; o++) store(out + o * ops + x, acc[o]);                   \
    } while (0)

/* exp(x) for float32: 2^n * p(r) with |r| <= ln2/2, relative error ~1e-7 (Cephes' expf
 * polynomial); the argument is clamped to [-87, 87], where float32 exp is finite. */
static inline v16 exp16(v16 x) {
    x = vmin(vmax(x, splat(-87.0f)), splat(87.0f));
    const v16 n = (x * splat(1.44269504088896341f) + splat(12582912.0f)) - splat(12582912.0f);
    v16 r = x - n * splat(0.693145751953125f);
    r = r - n * splat(1.428606765330187045e-06f);
    v16 p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    p = p * r * r + r + splat(1.0f);
    const v16i e = (__builtin_convertvector(n, v16i) + 127) << 23;
    return p * (v16)e;
}

/* One output row of a 3x3 convolution with dilation d and COUT outputs, in float32.
 * in: the centre row of input plane 0 (column 0 = image column 0), planes ps floats apart,
 * rows rs floats apart; w: (COUT, cin, 3, 3); out: row of output plane 0, planes ops apart
 * (pair planes when `pairs`). Columns [0, cols) are written, cols a multiple of VL. */
#define DEFINE_CONV_ROW(COUT)                                                                \
    static void conv_row_##COUT(const float *in, long ps, long rs, int cin, int d,            \
                                const float *w, const float *b, float *out, long ops,         \
                                int cols, int apply_relu, int pairs) {                        \
        for (int x = 0; x < cols; x += VL) {                                                  \
            v16 acc[COUT];                                                                    \
            for (int o = 0; o < COUT; o++) acc[o] = splat(b[o]);                              \
            for (int c = 0; c < cin; c++) {                                                   \
                const float *pc = in + c * ps + x;                                            \
                const float *wc = w + c * 9;                                                  \
                for (int ky = 0; ky < 3; ky++)                                                \
                    for (int kx = 0; kx < 3; kx++) {                                          \
                        const v16 p = load(pc + (long)(ky - 1) * d * rs + (kx - 1) * d);      \
                        for (int o = 0; o < COUT; o++)                                        \
                            acc[o] += splat(wc[o * cin * 9 + ky * 3 + kx]) * p;               \
                    }                                                                         \
            }                                                                                 \
            STORE_OUTPUTS(COUT, acc, out, ops, x, apply_relu, pairs);                         \
        }                                                                                     \
    }
DEFINE_CONV_ROW(4)
DEFINE_CONV_ROW(3)

#if HAVE_BF16_DOT
/* The same on pair planes: `in` holds `npairs` pair planes, wp the weights packed as pairs,
 * (COUT, npairs, 3, 3) words. */
#define DEFINE_CONV_ROW_BF16(COUT)                                                           \
    static void conv_row_bf16_##COUT(const float *in, long ps, long rs, int npairs, int d,    \
                                     const uint32_t *wp, const float *b, float *out,          \
                                     long ops, int cols, int apply_relu, int pairs) {         \
        for (int x = 0; x < cols; x += VL) {                                                  \
            v16 acc[COUT];                                                                    \
            for (int o = 0; o < COUT; o++) acc[o] = splat(b[o]);                              \
            for (int c = 0; c < npairs; c++) {                                                \
                const float *pc = in + c * ps + x;                                            \
                const uint32_t *wc = wp + c * 9;                                              \
                for (int ky = 0; ky < 3; ky++)                                                \
                    for (int kx = 0; kx < 3; kx++) {                                          \
                        const __m512bh p = (__m512bh)_mm512_loadu_ps(                         \
                            pc + (long)(ky - 1) * d * rs + (kx - 1) * d);                     \
                        for (int o = 0; o < COUT; o++)                                        \
                            acc[o] = (v16)_mm512_dpbf16_ps(                                   \
                                (__m512)acc[o], p,                                            \
                                (__m512bh)_mm512_set1_epi32(                                  \
                                    (int)wc[o * npairs * 9 + ky * 3 + kx]));                  \
                    }                                                                         \
            }                                                                                 \
            STORE_OUTPUTS(COUT, acc, out, ops, x, apply_relu, pairs);                         \
        }                                                                                     \
    }
DEFINE_CONV_ROW_BF16(4)
DEFINE_CONV_ROW_BF16(3)
#endif

/* Packs weights (cout, cin, 3, 3) float32 into (cout, ceil(cin / 2), 3, 3) bfloat16 pairs. */
static void pack_pairs(const float *w, int cout, int cin, uint32_t *out) {
    const int np = (cin + 1) / 2;
    for (int o = 0; o < cout; o++)
        for (int p = 0; p < np; p++)
            for (int t = 0; t < 9; t++) {
                const uint32_t lo = bf16_bits(w[(o * cin + 2 * p) * 9 + t]);
                const uint32_t hi = 2 * p + 1 < cin ? bf16_bits(w[(o * cin + 2 * p + 1) * 9 + t]) : 0;
                out[(o * np + p) * 9 + t] = (hi << 16) | lo;
            }
}

static long row_stride(int W) { return ((W + VL - 1) / VL) * VL + 2 * MARGIN; }

/* Floats of scratch memory auxnet_rows needs for `rows` output rows of width W. */
long auxnet_scratch_floats(int W, int rows, int branches, int max_dilation) {
    const long halo = max_dilation + 3;
    return row_stride(W) * ((3 + 0L) * (rows + 2 * halo) + 4L * branches * (rows + 6)
                            + 4L * (rows + 4) + 4L * (rows + 2));
}

/* Clears columns outside the image ([-MARGIN, 0) and [W, cols + MARGIN)) of one row of
 * `planes` planes: they are the zero padding the next convolution reads. */
static void clear_border(float *row, long ps, int planes, int W, int cols) {
    for (int c = 0; c < planes; c++) {
        memset(row + c * ps - MARGIN, 0, sizeof(float) * MARGIN);
        memset(row + c * ps + W, 0, sizeof(float) * (cols + MARGIN - W));
    }
}

static void clear_row(float *row, long ps, int planes, long rs) {
    for (int c = 0; c < planes; c++) memset(row + c * ps - MARGIN, 0, sizeof(float) * rs);
}

/* H_θ's weights packed as bfloat16 pairs (use_bf16 mode). */
typedef struct {
    uint32_t stem[MAX_BRANCHES * 4 * 2 * 9];
    uint32_t w0[4 * (2 * MAX_BRANCHES) * 9];
    uint32_t w1[4 * 2 * 9];
    uint32_t w2[3 * 2 * 9];
} packed_weights;

/* Output rows [y0, y1) of one image.
 * src, dst: (3, H, W) float32, contiguous; src in [0, 1].
 * stem_w: (branches, 4, 3, 3, 3); stem_b: (branches * 4); dilations: branches values in
 * [1, MARGIN]; w0: (4, 4 * branches, 3, 3); w1: (4, 4, 3, 3) (batch norm folded);
 * w2: (3, 4, 3, 3); biases b0 (4), b1 (4), b2 (3); scratch: auxnet_scratch_floats floats;
 * packed: NULL for float32, else H_θ's weights as bfloat16 pairs (only with HAVE_BF16_DOT).
 * Returns 0, or -1 when the arguments are out of range. */
static int auxnet_rows(const float *src, int H, int W, int y0, int y1, float *dst,
                       const float *stem_w, const float *stem_b, const int32_t *dilations,
                       int branches, const float *w0, const float *b0, const float *w1,
                       const float *b1, const float *w2, const float *b2, float floor_,
                       float *scratch, const packed_weights *packed) {
    if (branches < 1 || branches > MAX_BRANCHES || y0 < 0 || y1 > H || y0 >= y1 || W < 1)
        return -1;
    int max_d = 0;
    for (int i = 0; i < branches; i++) {
        if (dilations[i] < 1 || dilations[i] > MARGIN) return -1;
        if (dilations[i] > max_d) max_d = dilations[i];
    }
    const int pairs = packed != NULL;
    const int cols = ((W + VL - 1) / VL) * VL;
    const long rs = row_stride(W);
    const int n = y1 - y0, halo = max_d + 3, feats = 4 * branches;
    /* planes of each feature buffer: channels, or channel pairs in bfloat16 mode */
    const int fp = pairs ? feats / 2 : feats, hp = pairs ? 2 : 4;
    const int r0 = n + 2 * halo, r1 = n + 6, r2 = n + 4, r3 = n + 2;
    const long ps0 = (long)r0 * rs, ps1 = (long)r1 * rs, ps2 = (long)r2 * rs, ps3 = (long)r3 * rs;
    float *in = scratch + MARGIN;     /* S, rows y0 - halo .. y1 + halo */
    float *f = in + 3 * ps0;          /* stem features, rows y0 - 3 .. y1 + 3 */
    float *h1 = f + feats * ps1;      /* rows y0 - 2 .. y1 + 2 */
    float *h2 = h1 + 4 * ps2;         /* rows y0 - 1 .. y1 + 1 */

    const int ip = pairs ? 2 : 3; /* input planes: R, G, B or pairs (R, G), (B, 0) */
    for (int r = 0; r < r0; r++) {
        const int y = y0 - halo + r;
        float *row = in + r * rs;
        if (y < 0 || y >= H) { clear_row(row, ps0, ip, rs); continue; }
        const float *red = src + (long)y * W, *green = red + (long)H * W, *blue = green + (long)H * W;
        if (!pairs) {
            memcpy(row, red, sizeof(float) * W);
            memcpy(row + ps0, green, sizeof(float) * W);
            memcpy(row + 2 * ps0, blue, sizeof(float) * W);
        } else {
            uint32_t *rg = (uint32_t *)row, *b0_ = (uint32_t *)(row + ps0);
            int x = 0;
            for (; x + VL <= W; x += VL) {
                *(v16wu *)(rg + x) = to_pairs(load(red + x), load(green + x));
                *(v16wu *)(b0_ + x) = to_pairs(load(blue + x), splat(0.0f));
            }
            for (; x < W; x++) {
                rg[x] = (bf16_bits(green[x]) << 16) | bf16_bits(red[x]);
                b0_[x] = bf16_bits(blue[x]);
            }
        }
        clear_border(row, ps0, ip, W, cols);
    }
    for (int r = 0; r < r1; r++) {
        const int y = y0 - 3 + r;
        float *row = f + r * rs;
        if (y < 0 || y >= H) { clear_row(row, ps1, fp, rs); continue; }
        const float *centre = in + (r + halo - 3) * rs;
        for (int i = 0; i < branches; i++) {
#if HAVE_BF16_DOT
            if (pairs) {
                conv_row_bf16_4(centre, ps0, rs, 2, dilations[i], packed->stem + i * 72,
                                stem_b + 4 * i, row + 2 * i * ps1, ps1, cols, 1, 1);
                continue;
            }
#endif
            conv_row_4(centre, ps0, rs, 3, dilations[i], stem_w + i * 108, stem_b + 4 * i,
                       row + 4 * i * ps1, ps1, cols, 1, 0);
        }
        clear_border(row, ps1, fp, W, cols);
    }
    for (int r = 0; r < r2; r++) {
        const int y = y0 - 2 + r;
        float *row = h1 + r * rs;
        if (y < 0 || y >= H) { clear_row(row, ps2, hp, rs); continue; }
#if HAVE_BF16_DOT
        if (pairs)
            conv_row_bf16_4(f + (r + 1) * rs, ps1, rs, fp, 1, packed->w0, b0, row, ps2, cols, 1, 1);
        else
#endif
            conv_row_4(f + (r + 1) * rs, ps1, rs, feats, 1, w0, b0, row, ps2, cols, 1, 0);
        clear_border(row, ps2, hp, W, cols);
    }
    for (int r = 0; r < r3; r++) {
        const int y = y0 - 1 + r;
        float *row = h2 + r * rs;
        if (y < 0 || y >= H) { clear_row(row, ps3, hp, rs); continue; }
#if HAVE_BF16_DOT
        if (pairs)
            conv_row_bf16_4(h1 + (r + 1) * rs, ps2, rs, 2, 1, packed->w1, b1, row, ps3, cols, 1, 1);
        else
#endif
            conv_row_4(h1 + (r + 1) * rs, ps2, rs, 4, 1, w1, b1, row, ps3, cols, 1, 0);
        clear_border(row, ps3, hp, W, cols);
    }
    float *z = in; /* the input copy is no longer read: it holds conv_out's row (3 * cols) */
    for (int r = 0; r < n; r++) {
        const int y = y0 + r;
#if HAVE_BF16_DOT
        if (pairs)
            conv_row_bf16_3(h2 + (r + 1) * rs, ps3, rs, 2, 1, packed->w2, b2, z, cols, cols, 0, 0);
        else
#endif
            conv_row_3(h2 + (r + 1) * rs, ps3, rs, 4, 1, w2, b2, z, cols, cols, 0, 0);
        for (int c = 0; c < 3; c++) {
            const float *s = src + ((long)c * H + y) * W;
            float *o = dst + ((long)c * H + y) * W;
            const float *zc = z + c * cols;
            int x = 0;
            for (; x + VL <= W; x += VL) {
                const v16 sv = load(s + x);
                const v16 u = splat(1.0f) / (splat(1.0f) + exp16(-load(zc + x)));
                store(o + x, sv / vmin(vmax(sv + u, splat(floor_)), splat(1.0f)));
            }
            if (x < W) { /* the last partial vector, through a padded copy */
                float sb[VL] = {0}, ob[VL];
                memcpy(sb, s + x, sizeof(float) * (W - x));
                const v16 sv = load(sb);
                const v16 u = splat(1.0f) / (splat(1.0f) + exp16(-load(zc + x)));
                store(ob, sv / vmin(vmax(sv + u, splat(floor_)), splat(1.0f)));
                memcpy(o + x, ob, sizeof(float) * (W - x));
            }
        }
    }
    return 0;
}

/* 1 when compiled with OpenMP (auxnet_image then runs its bands in parallel), else 0. */
int auxnet_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

/* 1 when the bfloat16 mode is compiled in (the CPU has AVX512-BF16), else 0. */
int auxnet_bf16(void) { return HAVE_BF16_DOT; }

/* The whole image in `bands` equal row bands (band i: rows [i*H/bands, (i+1)*H/bands)),
 * on `threads` OpenMP threads; thread t uses scratch + t * scratch_per_thread (each at least
 * auxnet_scratch_floats(W, ceil(H / bands), ...) floats). use_bf16: convolutions in bfloat16 (needs
 * auxnet_bf16()). Other arguments as auxnet_rows.
 * Returns 0, -1 when any band's arguments are out of range, -2 when bfloat16 is unavailable. */
int auxnet_image(const float *src, int H, int W, float *dst,
                 const float *stem_w, const float *stem_b, const int32_t *dilations, int branches,
                 const float *w0, const float *b0, const float *w1, const float *b1,
                 const float *w2, const float *b2, float floor_, int bands, int threads,
                 float *scratch, long scratch_per_thread, int use_bf16) {
    if (bands < 1 || bands > H || threads < 1 || branches < 1 || branches > MAX_BRANCHES)
        return -1;
    if (use_bf16 && !HAVE_BF16_DOT) return -2;
    packed_weights packed;
    if (use_bf16) {
        for (int i = 0; i < branches; i++) pack_pairs(stem_w + i * 108, 4, 3, packed.stem + i * 72);
        pack_pairs(w0, 4, 4 * branches, packed.w0);
        pack_pairs(w1, 4, 4, packed.w1);
        pack_pairs(w2, 3, 4, packed.w2);
    }
    const packed_weights *pw = use_bf16 ? &packed : NULL;
    int status = 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads) reduction(| : status)
#endif
    for (int i = 0; i < bands; i++) {
#ifdef _OPENMP
        const int t = omp_get_thread_num();
#else
        const int t = 0;
#endif
        const int y0 = (int)((long)i * H / bands), y1 = (int)((long)(i + 1) * H / bands);
        status |= auxnet_rows(src, H, W, y0, y1, dst, stem_w, stem_b, dilations, branches,
                              w0, b0, w1, b1, w2, b2, floor_, scratch + t * scratch_per_thread,
                              pw);
    }
    return status;
}
