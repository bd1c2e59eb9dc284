/* A stand-alone driver of cpu_kernel.c for the sanitizer build (test_kernel_sanitizers.py).
 *
 * Built together with the kernel source as one program with -fsanitize=address,undefined, it
 * runs auxnet_image on random weights and images of awkward sizes, with every band count from
 * 1 to a few and to one band per row, on 1 and 2 threads, in float32 and (where the CPU has
 * it) bfloat16. Every buffer is allocated with exactly the size the kernel asks for, so any
 * read or write outside it is reported by AddressSanitizer; undefined behaviour (overflow,
 * misaligned or out-of-range shifts) stops the program through UndefinedBehaviorSanitizer.
 * It also checks the output itself: finite and in [0, 1]. Prints "ok <cases>" and exits 0, or
 * prints what failed and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

long auxnet_scratch_floats(int W, int rows, int branches, int max_dilation);
int auxnet_bf16(void);
int auxnet_image(const float *src, int H, int W, float *dst, const float *stem_w,
                 const float *stem_b, const int32_t *dilations, int branches, const float *w0,
                 const float *b0, const float *w1, const float *b1, const float *w2,
                 const float *b2, float floor_, int bands, int threads, float *scratch,
                 long scratch_per_thread, int use_bf16);

static uint32_t state = 12345u;

static float uniform(float lo, float hi) {
    state = state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(state >> 8) / (float)(1u << 24);
}

static float *random_floats(long n, float lo, float hi) {
    float *p = malloc(sizeof(float) * (size_t)n);
    if (p == NULL) exit(2);
    for (long i = 0; i < n; i++) p[i] = uniform(lo, hi);
    return p;
}

static int run_case(int H, int W, int branches, const int32_t *dilations, int bands, int threads,
                    int use_bf16) {
    int max_d = 0;
    for (int i = 0; i < branches; i++) max_d = dilations[i] > max_d ? dilations[i] : max_d;
    float *stem_w = random_floats(branches * 108L, -0.5f, 0.5f);
    float *stem_b = random_floats(branches * 4L, -0.2f, 0.2f);
    float *w0 = random_floats(4L * 4 * branches * 9, -0.5f, 0.5f), *b0 = random_floats(4, -0.2f, 0.2f);
    float *w1 = random_floats(4L * 4 * 9, -0.5f, 0.5f), *b1 = random_floats(4, -0.2f, 0.2f);
    float *w2 = random_floats(3L * 4 * 9, -2.0f, 2.0f), *b2 = random_floats(3, -1.0f, 1.0f);
    float *src = random_floats(3L * H * W, 0.0f, 1.0f);
    float *dst = malloc(sizeof(float) * 3 * (size_t)H * (size_t)W);
    const int rows = (H + bands - 1) / bands;
    const long per_thread = auxnet_scratch_floats(W, rows, branches, max_d);
    float *scratch = malloc(sizeof(float) * (size_t)(per_thread * threads));
    if (dst == NULL || scratch == NULL) exit(2);
    int failed = auxnet_image(src, H, W, dst, stem_w, stem_b, dilations, branches, w0, b0, w1,
                              b1, w2, b2, 0.05f, bands, threads, scratch, per_thread, use_bf16);
    for (long i = 0; !failed && i < 3L * H * W; i++)
        if (!(dst[i] >= 0.0f && dst[i] <= 1.0f)) failed = 1; /* also catches NaN */
    if (failed)
        printf("failed: H=%d W=%d branches=%d bands=%d threads=%d bf16=%d\n", H, W, branches,
               bands, threads, use_bf16);
    free(stem_w); free(stem_b); free(w0); free(b0); free(w1); free(b1); free(w2); free(b2);
    free(src); free(dst); free(scratch);
    return failed;
}

int main(void) {
    static const int sizes[][2] = {{1, 1}, {2, 17}, {5, 7}, {16, 16}, {37, 53}, {130, 67}, {9, 200}};
    static const int32_t dilations[] = {1, 2, 3, 4, 8, 5, 6, 7};
    const int branch_counts[] = {4, 1, 8};
    int cases = 0, failures = 0;
    for (int bf = 0; bf <= auxnet_bf16(); bf++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int b = 0; b < 3; b++) {
                const int H = sizes[s][0], W = sizes[s][1];
                const int band_options[] = {1, 2, 3, H};
                for (int k = 0; k < 4; k++) {
                    const int bands = band_options[k];
                    if (bands > H) continue;
                    for (int threads = 1; threads <= 2; threads++) {
                        failures += run_case(H, W, branch_counts[b], dilations, bands, threads, bf);
                        cases++;
                    }
                }
            }
    if (failures) return 1;
    printf("ok %d\n", cases);
    return 0;
}
