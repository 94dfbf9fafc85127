//===- check_kernels.cu - every kernel template vs a host reference -------===//
//
// Runs on the GPU machine (scripts/gpu-check): fresh random inputs each run
// (the seed is printed; --seed S repeats one), outputs poisoned with NaN bytes
// before every launch, every CUDA call and launch checked, and each result
// compared with a double-precision host reference under the tolerance stated
// next to each check. Exit 0 = all pass, 1 = a failure, 77 = no GPU.
//
//===----------------------------------------------------------------------===//

#include "elementwise.h"
#include "gemv.h"
#include "glu.h"
#include "mixers.h"
#include "moe.h"
#include "sample.h"

#include "compiler/codegen/Repack.h"
#include "compiler/reference/Dequant.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#define CHECK(call)                                                            \
  do {                                                                         \
    cudaError_t err_ = (call);                                                 \
    if (err_ != cudaSuccess) {                                                 \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,       \
                   cudaGetErrorString(err_));                                  \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)
#define CHECK_LAUNCH()                                                         \
  do {                                                                         \
    CHECK(cudaGetLastError());                                                 \
    CHECK(cudaDeviceSynchronize());                                            \
  } while (0)

namespace {

std::mt19937_64 rng;
int failures = 0;
/// --quick: few sampling draws (for the sanitizer runs, which are ~100x
/// slower); the frequency test then only checks the kept set.
bool quick = false;

template <typename T> struct DeviceBuffer {
  T *ptr = nullptr;
  size_t count = 0;
  explicit DeviceBuffer(const std::vector<T> &host) : count(host.size()) {
    CHECK(cudaMalloc(&ptr, std::max<size_t>(1, count) * sizeof(T)));
    if (count) {
      CHECK(cudaMemcpy(ptr, host.data(), count * sizeof(T),
                       cudaMemcpyHostToDevice));
    }
  }
  explicit DeviceBuffer(size_t n) : count(n) {
    CHECK(cudaMalloc(&ptr, std::max<size_t>(1, n) * sizeof(T)));
    poison();
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  /// 0xFF bytes: NaN as float and bf16, -1 as int: unwritten outputs show.
  void poison() {
    CHECK(cudaMemset(ptr, 0xFF, std::max<size_t>(1, count) * sizeof(T)));
  }
  std::vector<T> read() const {
    std::vector<T> h(count);
    CHECK(cudaMemcpy(h.data(), ptr, count * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

uint16_t toBf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  b += 0x7FFFu + ((b >> 16) & 1u);
  return static_cast<uint16_t>(b >> 16);
}
float fromBf16(uint16_t h) {
  uint32_t b = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint16_t toHalf(float f) {
  __half h = __float2half_rn(f);
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}
float fromHalf(uint16_t b) {
  __half h;
  std::memcpy(&h, &b, 2);
  return __half2float(h);
}

std::vector<uint16_t> randomBf16(size_t n, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<uint16_t> v(n);
  for (auto &x : v) {
    x = toBf16(d(rng));
  }
  return v;
}

/// Reports one check: the worst error relative to its bound must be <= 1.
void report(const std::string &what, double worstRatio, size_t nonFinite) {
  bool ok = nonFinite == 0 && worstRatio <= 1.0;
  std::printf("%-4s %-72s worst err/tol %.3f%s\n", ok ? "PASS" : "FAIL",
              what.c_str(), worstRatio,
              nonFinite ? " (non-finite or unwritten outputs)" : "");
  failures += !ok;
}

/// Random int4 weights [n][k], GPTQ-packed as a checkpoint stores them,
/// repacked into the kernels' layout; `w` is the reference's dequantization.
struct RandomW4 {
  fd::codegen::W4RowMajor packed;
  std::vector<float> w;
};
RandomW4 randomW4(int n, int k, int group, bool zeros) {
  std::uniform_int_distribution<uint32_t> word;
  // GPTQ packs zero points along N (N / 8 words a group; the importer
  // rejects N % 8 != 0). The ragged N of these checks makes the packer and the
  // reference read the last row's last zero point one word past the groups:
  // that word exists and is symmetric like the rest.
  std::vector<int32_t> qweight(static_cast<size_t>(k / 8) * n),
      qzeros(static_cast<size_t>(k / group) * (n / 8) + 1);
  for (auto &v : qweight) {
    v = static_cast<int32_t>(word(rng));
  }
  for (auto &z : qzeros) {
    z = zeros ? static_cast<int32_t>(word(rng)) : 0x77777777;
  }
  std::uniform_real_distribution<float> sd(0.5f, 1.5f);
  std::vector<uint16_t> scales(static_cast<size_t>(k / group) * n);
  std::vector<float> scalesF(scales.size());
  for (size_t i = 0; i < scales.size(); ++i) {
    scales[i] = toHalf(sd(rng) / (4.6f * std::sqrt(static_cast<float>(k))));
    scalesF[i] = fromHalf(scales[i]);
  }
  RandomW4 out;
  out.packed = fd::codegen::repackGptq4(qweight.data(), qzeros.data(),
                                        scales.data(), n, k, group);
  out.w = fd::reference::dequantGptq(qweight.data(), qzeros.data(),
                                     scalesF.data(), n, k, 4, group);
  return out;
}

/// ref[r] = sum_k w[r][k] x[k] in double over float weights [n][k], and
/// absSum[r] = sum_k |w x| (the scale of fp32 rounding error).
void matvecRef(const float *w, const uint16_t *x, int n, int k, double *ref,
               double *absSum) {
  for (int r = 0; r < n; ++r) {
    double s = 0, a = 0;
    for (int kk = 0; kk < k; ++kk) {
      double p = static_cast<double>(w[static_cast<size_t>(r) * k + kk]) *
                 fromBf16(x[kk]);
      s += p;
      a += std::fabs(p);
    }
    ref[r] = s;
    absSum[r] = a;
  }
}

/// Compares GPU y [m][n] (float or bf16) with the double reference. The
/// tolerance per element: kRel * sum_k |w x| (fp32 accumulation of K
/// products in another order) plus, for bf16 outputs, half a bf16 ulp.
template <bool OUT_BF16>
void compareGemv(const std::string &what, const std::vector<double> &ref,
                 const std::vector<double> &absSum, const void *yHost,
                 size_t count) {
  constexpr double kRel = 2e-5;
  double worst = 0;
  size_t bad = 0, worstAt = 0;
  for (size_t i = 0; i < count; ++i) {
    double y = OUT_BF16 ? fromBf16(static_cast<const uint16_t *>(yHost)[i])
                        : static_cast<const float *>(yHost)[i];
    if (!std::isfinite(y)) {
      ++bad;
      continue;
    }
    double tol = kRel * absSum[i] +
                 (OUT_BF16 ? std::ldexp(std::fabs(ref[i]), -8) : 0) + 1e-30;
    if (std::fabs(y - ref[i]) / tol > worst) {
      worst = std::fabs(y - ref[i]) / tol;
      worstAt = i;
    }
  }
  // Where a check fails, the output that failed worst.
  report(worst > 1.0 ? what + " (worst at output " + std::to_string(worstAt) +
                           " of " + std::to_string(count) + ")"
                     : what,
         worst, bad);
}

/// For an accumulating GEMV: fills the float output with random values,
/// adds them to the reference and to the error scale.
std::vector<float> randomF(size_t n, float scale);

template <bool ACCUM>
void addBase(void *dy, std::vector<double> &ref, std::vector<double> &absSum) {
  if constexpr (ACCUM) {
    std::vector<float> base = randomF(ref.size(), 3.0f);
    CHECK(cudaMemcpy(dy, base.data(), base.size() * sizeof(float),
                     cudaMemcpyHostToDevice));
    for (size_t i = 0; i < ref.size(); ++i) {
      ref[i] += base[i];
      absSum[i] += std::fabs(base[i]);
    }
  }
}

/// ACCUM: y starts as random values (the residual stream) and the GEMV adds
/// into it; the reference adds the same base.
template <int ROWS, int LANES, int M, int WAVES, int GROUP, bool ZEROS,
          bool OUT_BF16, bool ACCUM = false>
void checkW4(int n, int k) {
  RandomW4 rw = randomW4(n, k, GROUP, ZEROS);
  const fd::codegen::W4RowMajor &packed = rw.packed;
  const std::vector<float> &w = rw.w;
  if (ZEROS != !packed.zeros.empty()) {
    std::printf("SKIP random zeros all 8\n");
    return;
  }
  std::vector<uint16_t> x = randomBf16(static_cast<size_t>(M) * k, 1.0f);
  std::vector<double> ref(static_cast<size_t>(M) * n), absSum(ref.size());
  for (int m = 0; m < M; ++m) {
    matvecRef(w.data(), x.data() + static_cast<size_t>(m) * k, n, k,
              ref.data() + static_cast<size_t>(m) * n,
              absSum.data() + static_cast<size_t>(m) * n);
  }
  DeviceBuffer<int32_t> dq(packed.qweight);
  DeviceBuffer<uint16_t> ds(packed.scales), dx(x);
  DeviceBuffer<uint8_t> dz(packed.zeros);
  DeviceBuffer<uint8_t> dy(ref.size() * (OUT_BF16 ? 2 : 4));
  addBase<ACCUM>(dy.ptr, ref, absSum);
  int rowsPerBlock = ROWS * (32 / LANES) * WAVES;
  fd::kernels::gemv_w4a16<ROWS, LANES, M, WAVES, GROUP, ZEROS, OUT_BF16, ACCUM>
      <<<(n + rowsPerBlock - 1) / rowsPerBlock, WAVES * 32>>>(
          dq.ptr, ds.ptr, dz.ptr, dx.ptr, dy.ptr, n, k);
  CHECK_LAUNCH();
  std::vector<uint8_t> y = dy.read();
  char what[160];
  std::snprintf(what, sizeof what,
                "gemv_w4a16<rows %d, lanes %d, M %d, waves %d, g %d, zeros %d, "
                "%s%s> N=%d K=%d",
                ROWS, LANES, M, WAVES, GROUP, ZEROS, OUT_BF16 ? "bf16" : "f32",
                ACCUM ? ", +=" : "", n, k);
  compareGemv<OUT_BF16>(what, ref, absSum, y.data(), ref.size());
}

template <int ROWS, int LANES, int M, int WAVES, bool OUT_BF16,
          bool ACCUM = false>
void checkBf16(int n, int k) {
  std::vector<uint16_t> w = randomBf16(static_cast<size_t>(n) * k,
                                       1.0f / std::sqrt(static_cast<float>(k)));
  std::vector<uint16_t> x = randomBf16(static_cast<size_t>(M) * k, 1.0f);
  std::vector<double> ref(static_cast<size_t>(M) * n), absSum(ref.size());
  for (int m = 0; m < M; ++m) {
    for (int r = 0; r < n; ++r) {
      double s = 0, a = 0;
      for (int kk = 0; kk < k; ++kk) {
        double p =
            static_cast<double>(fromBf16(w[static_cast<size_t>(r) * k + kk])) *
            fromBf16(x[static_cast<size_t>(m) * k + kk]);
        s += p;
        a += std::fabs(p);
      }
      ref[static_cast<size_t>(m) * n + r] = s;
      absSum[static_cast<size_t>(m) * n + r] = a;
    }
  }
  DeviceBuffer<uint16_t> dw(w), dx(x);
  DeviceBuffer<uint8_t> dy(ref.size() * (OUT_BF16 ? 2 : 4));
  addBase<ACCUM>(dy.ptr, ref, absSum);
  int rowsPerBlock = ROWS * (32 / LANES) * WAVES;
  fd::kernels::gemv_bf16<ROWS, LANES, M, WAVES, OUT_BF16, ACCUM>
      <<<(n + rowsPerBlock - 1) / rowsPerBlock, WAVES * 32>>>(dw.ptr, dx.ptr,
                                                              dy.ptr, n, k);
  CHECK_LAUNCH();
  std::vector<uint8_t> y = dy.read();
  char what[160];
  std::snprintf(what, sizeof what,
                "gemv_bf16<rows %d, lanes %d, M %d, waves %d, %s%s> N=%d K=%d",
                ROWS, LANES, M, WAVES, OUT_BF16 ? "bf16" : "f32",
                ACCUM ? ", +=" : "", n, k);
  compareGemv<OUT_BF16>(what, ref, absSum, y.data(), ref.size());
}

/// The int8 lm_head: bf16 weights quantized on the host with the packer's
/// quantizer; the reference multiplies the dequantized weights in double.
template <int ROWS, int LANES, int M, int WAVES, int GROUP, bool OUT_BF16>
void checkW8(int n, int k) {
  const int group = GROUP;
  std::vector<uint16_t> wb = randomBf16(
      static_cast<size_t>(n) * k, 1.0f / std::sqrt(static_cast<float>(k)));
  std::vector<float> wf(wb.size());
  for (size_t i = 0; i < wb.size(); ++i) {
    wf[i] = static_cast<float>(fromBf16(wb[i]));
  }
  fd::reference::Int8Rows q =
      fd::reference::quantizeInt8Rows(wf.data(), n, k, group);
  std::vector<float> w =
      fd::reference::dequantInt8Rows(q.q.data(), q.scales.data(), n, k, group);
  std::vector<uint16_t> x = randomBf16(static_cast<size_t>(M) * k, 1.0f);
  std::vector<double> ref(static_cast<size_t>(M) * n), absSum(ref.size());
  for (int m = 0; m < M; ++m) {
    matvecRef(w.data(), x.data() + static_cast<size_t>(m) * k, n, k,
              ref.data() + static_cast<size_t>(m) * n,
              absSum.data() + static_cast<size_t>(m) * n);
  }
  DeviceBuffer<int8_t> dq(q.q);
  DeviceBuffer<uint16_t> ds(q.scales), dx(x);
  DeviceBuffer<uint8_t> dy(ref.size() * (OUT_BF16 ? 2 : 4));
  int rowsPerBlock = ROWS * (32 / LANES) * WAVES;
  fd::kernels::gemv_w8a16<ROWS, LANES, M, WAVES, GROUP, OUT_BF16>
      <<<(n + rowsPerBlock - 1) / rowsPerBlock, WAVES * 32>>>(
          dq.ptr, ds.ptr, dx.ptr, dy.ptr, n, k);
  CHECK_LAUNCH();
  std::vector<uint8_t> y = dy.read();
  char what[160];
  std::snprintf(what, sizeof what,
                "gemv_w8a16<rows %d, lanes %d, M %d, waves %d, g %d, %s> "
                "N=%d K=%d",
                ROWS, LANES, M, WAVES, GROUP, OUT_BF16 ? "bf16" : "f32", n, k);
  compareGemv<OUT_BF16>(what, ref, absSum, y.data(), ref.size());
}

template <int THREADS, bool ZC> void checkRmsNorm(int rows, int d) {
  std::vector<uint16_t> x = randomBf16(static_cast<size_t>(rows) * d, 3.0f);
  std::vector<uint16_t> w = randomBf16(d, 0.2f);
  const float eps = 1e-6f;
  DeviceBuffer<uint16_t> dx(x), dw(w), dy(static_cast<size_t>(rows) * d);
  fd::kernels::rms_norm<THREADS, ZC>
      <<<rows, THREADS>>>(dx.ptr, dw.ptr, dy.ptr, d, eps);
  CHECK_LAUNCH();
  std::vector<uint16_t> y = dy.read();
  // Tolerance: one bf16 rounding of the output (2^-8 relative) plus fp32
  // error in the mean of squares.
  double worst = 0;
  size_t bad = 0;
  for (int r = 0; r < rows; ++r) {
    double ss = 0;
    for (int i = 0; i < d; ++i) {
      double v = fromBf16(x[static_cast<size_t>(r) * d + i]);
      ss += v * v;
    }
    double inv = 1.0 / std::sqrt(ss / d + eps);
    for (int i = 0; i < d; ++i) {
      double scale = ZC ? 1.0 + fromBf16(w[i]) : fromBf16(w[i]);
      double ref = fromBf16(x[static_cast<size_t>(r) * d + i]) * inv * scale;
      double got = fromBf16(y[static_cast<size_t>(r) * d + i]);
      if (!std::isfinite(got)) {
        ++bad;
        continue;
      }
      double tol =
          std::ldexp(std::fabs(ref), -8) + 1e-6 * std::fabs(ref) + 1e-30;
      worst = std::max(worst, std::fabs(got - ref) / tol);
    }
  }
  char what[120];
  std::snprintf(what, sizeof what, "rms_norm<%d threads, %s> rows=%d D=%d",
                THREADS, ZC ? "1 + w" : "w", rows, d);
  report(what, worst, bad);
}

/// A pass/fail line for checks of exact equality.
void reportExact(const std::string &what, bool equal) {
  std::printf("%-4s %-72s %s\n", equal ? "PASS" : "FAIL", what.c_str(),
              equal ? "bit-identical" : "differs");
  failures += !equal;
}
template <typename T>
bool sameBits(const DeviceBuffer<T> &a, const DeviceBuffer<T> &b) {
  const std::vector<T> x = a.read(), y = b.read();
  return std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) == 0;
}

/// gemv_w4a16's x-stationary step (one token, 32 lanes, K = 1024 C with C
/// dividing WAVES) against its per-lane step (X_STATIONARY false) on the same
/// random weights, bit for bit, outputs poisoned first; ACCUM from the same
/// random base. The tolerance check of the step is checkW4's.
/// gemv_w4a16 and gemv_w4a16_experts_glu with the per-lane step forced.
template <int ROWS, int WAVES, int GROUP, bool ZEROS, bool ACCUM>
__global__ void __launch_bounds__(WAVES * 32)
    gemvW4a16PerLane(const int32_t *q, const uint16_t *s, const uint8_t *z,
                     const uint16_t *x, void *y, int n, int k) {
  fd::kernels::gemvW4a16Block<ROWS, 32, 1, WAVES, GROUP, ZEROS, false, ACCUM,
                              fd::kernels::kNormNone, 0, false>(
      q, s, z, x, y, n, k, nullptr, nullptr, nullptr, 0.0f);
}
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS>
__global__ void __launch_bounds__(WAVES * 32) gemvW4a16ExpertsGluPerLane(
    const int32_t *gateQ, const uint16_t *gateScales, const uint8_t *gateZeros,
    const int32_t *upQ, const uint16_t *upScales, const uint8_t *upZeros,
    const int32_t *expertIds, const uint16_t *x, uint16_t *y, int n, int k) {
  fd::kernels::gemvW4a16ExpertsGluBlock<ROWS, LANES, WAVES, GROUP, ZEROS,
                                        false>(gateQ, gateScales, gateZeros,
                                               upQ, upScales, upZeros,
                                               expertIds, x, y, n, k);
}

template <int ROWS, int WAVES, int GROUP, bool ZEROS, bool ACCUM>
void checkW4XStationarySame(int n, int k) {
  RandomW4 rw = randomW4(n, k, GROUP, ZEROS);
  std::vector<uint16_t> x = randomBf16(k, 1.0f);
  DeviceBuffer<int32_t> dq(rw.packed.qweight);
  DeviceBuffer<uint16_t> ds(rw.packed.scales), dx(x);
  DeviceBuffer<uint8_t> dz(rw.packed.zeros);
  std::vector<float> base =
      ACCUM ? randomF(n, 3.0f) : std::vector<float>(n, std::nanf(""));
  DeviceBuffer<float> y0(base), y1(base);
  constexpr int rowsPerBlock = ROWS * WAVES;
  const int blocks = (n + rowsPerBlock - 1) / rowsPerBlock;
  fd::kernels::gemv_w4a16<ROWS, 32, 1, WAVES, GROUP, ZEROS, false, ACCUM>
      <<<blocks, WAVES * 32>>>(dq.ptr, ds.ptr, dz.ptr, dx.ptr, y0.ptr, n, k);
  CHECK_LAUNCH();
  gemvW4a16PerLane<ROWS, WAVES, GROUP, ZEROS, ACCUM>
      <<<blocks, WAVES * 32>>>(dq.ptr, ds.ptr, dz.ptr, dx.ptr, y1.ptr, n, k);
  CHECK_LAUNCH();
  const std::vector<float> a = y0.read();
  const bool finite = std::all_of(a.begin(), a.end(),
                                  [](float v) { return std::isfinite(v); });
  char what[160];
  std::snprintf(what, sizeof what,
                "gemv_w4a16 x-stationary = per-lane <rows %d, waves %d, g %d, "
                "zeros %d%s> N=%d K=%d",
                ROWS, WAVES, GROUP, ZEROS, ACCUM ? ", +=" : "", n, k);
  reportExact(what, finite && sameBits(y0, y1));
}

/// The RMSNorm prologue (fd-fuse-rms-norm) against rms_norm and the unfused
/// GEMV on the same float residual row: every fused output bit-identical,
/// the published row equal to rms_norm's, outputs poisoned first. NORM 1
/// (1 + w) and 2 (w); K = D.
template <int NORM, int D> void checkNormPrologue() {
  constexpr bool kZc = NORM == fd::kernels::kNormZeroCentered;
  std::vector<float> h = randomF(D, 3.0f);
  const std::vector<uint16_t> w = randomBf16(D, 0.2f);
  const float eps = 1e-6f;
  DeviceBuffer<float> dh(h);
  DeviceBuffer<uint16_t> dw(w), x(static_cast<size_t>(D)),
      published(static_cast<size_t>(D));
  fd::kernels::rms_norm<256, kZc, float, uint16_t>
      <<<1, 256>>>(dh.ptr, dw.ptr, x.ptr, D, eps);
  CHECK_LAUNCH();
  const std::string tag =
      std::string(kZc ? "1 + w" : "w") + ", K=" + std::to_string(D);

  { // bf16 (the lm_head); block (0, 0) publishes the row.
    const int n = 1000;
    DeviceBuffer<uint16_t> wm(randomBf16(static_cast<size_t>(n) * D, 0.05f));
    DeviceBuffer<float> y0(static_cast<size_t>(n)), y1(static_cast<size_t>(n));
    const int blocks = (n + 15) / 16;
    fd::kernels::gemv_bf16<2, 32, 1, 8, false, false>
        <<<blocks, 256>>>(wm.ptr, x.ptr, y0.ptr, n, D);
    CHECK_LAUNCH();
    fd::kernels::gemv_bf16<2, 32, 1, 8, false, false, uint16_t, NORM, D>
        <<<blocks, 256>>>(wm.ptr, nullptr, y1.ptr, n, D, dh.ptr, dw.ptr,
                          published.ptr, eps);
    CHECK_LAUNCH();
    reportExact("gemv_bf16 + norm prologue (" + tag + ")", sameBits(y0, y1));
    reportExact("  the row it publishes vs rms_norm (" + tag + ")",
                sameBits(x, published));
  }
  { // w4a16 (an input projection), nothing published.
    const int n = 512;
    RandomW4 rw = randomW4(n, D, 32, true);
    DeviceBuffer<int32_t> q(rw.packed.qweight);
    DeviceBuffer<uint16_t> sc(rw.packed.scales);
    DeviceBuffer<uint8_t> z(rw.packed.zeros);
    DeviceBuffer<float> y0(static_cast<size_t>(n)), y1(static_cast<size_t>(n));
    const int blocks = (n + 7) / 8;
    fd::kernels::gemv_w4a16<2, 32, 1, 4, 32, true, false, false>
        <<<blocks, 128>>>(q.ptr, sc.ptr, z.ptr, x.ptr, y0.ptr, n, D);
    CHECK_LAUNCH();
    fd::kernels::gemv_w4a16<2, 32, 1, 4, 32, true, false, false, NORM, D>
        <<<blocks, 128>>>(q.ptr, sc.ptr, z.ptr, nullptr, y1.ptr, n, D, dh.ptr,
                          dw.ptr, nullptr, eps);
    CHECK_LAUNCH();
    reportExact("gemv_w4a16 + norm prologue (" + tag + ")", sameBits(y0, y1));
  }
  { // int8 (the quantized lm_head).
    const int n = 700;
    std::vector<float> wf(static_cast<size_t>(n) * D);
    for (auto &v : wf) {
      v = fromBf16(randomBf16(1, 0.05f)[0]);
    }
    fd::reference::Int8Rows q8 =
        fd::reference::quantizeInt8Rows(wf.data(), n, D, 32);
    DeviceBuffer<int8_t> q(q8.q);
    DeviceBuffer<uint16_t> sc(q8.scales);
    DeviceBuffer<float> y0(static_cast<size_t>(n)), y1(static_cast<size_t>(n));
    const int blocks = (n + 7) / 8;
    fd::kernels::gemv_w8a16<1, 32, 1, 8, 32, false>
        <<<blocks, 256>>>(q.ptr, sc.ptr, x.ptr, y0.ptr, n, D);
    CHECK_LAUNCH();
    fd::kernels::gemv_w8a16<1, 32, 1, 8, 32, false, NORM, D><<<blocks, 256>>>(
        q.ptr, sc.ptr, nullptr, y1.ptr, n, D, dh.ptr, dw.ptr, nullptr, eps);
    CHECK_LAUNCH();
    reportExact("gemv_w8a16 + norm prologue (" + tag + ")", sameBits(y0, y1));
  }
  { // gemv_segments2: a w4 and a bf16 segment (GDN's in_proj family).
    const int n0 = 256, n1 = 32;
    RandomW4 rw = randomW4(n0, D, 32, false);
    DeviceBuffer<int32_t> q(rw.packed.qweight);
    DeviceBuffer<uint16_t> sc(rw.packed.scales);
    DeviceBuffer<uint16_t> wb(randomBf16(static_cast<size_t>(n1) * D, 0.05f));
    DeviceBuffer<float> a0(static_cast<size_t>(n0)),
        b0(static_cast<size_t>(n1)), a1(static_cast<size_t>(n0)),
        b1(static_cast<size_t>(n1));
    const int blocks = (n0 + 1) / 2 + (n1 + 1) / 2; // 1 row x 1 group x 2 waves
    fd::kernels::gemv_segments2<1, 32, 2, 32, false, 1, 2>
        <<<blocks, 64>>>(x.ptr, D, q.ptr, sc.ptr, nullptr, a0.ptr, n0, wb.ptr,
                         nullptr, nullptr, b0.ptr, n1);
    CHECK_LAUNCH();
    published.poison();
    fd::kernels::gemv_segments2<1, 32, 2, 32, false, 1, 2, NORM, D>
        <<<blocks, 64>>>(nullptr, D, q.ptr, sc.ptr, nullptr, a1.ptr, n0, wb.ptr,
                         nullptr, nullptr, b1.ptr, n1, dh.ptr, dw.ptr,
                         published.ptr, eps);
    CHECK_LAUNCH();
    reportExact("gemv_segments2 (w4 | bf16) + norm prologue (" + tag + ")",
                sameBits(a0, a1) && sameBits(b0, b1) && sameBits(x, published));
  }
  { // gemv_segments4 (w4 | w4 | bf16 | bf16: GDN's in_proj) with 8 waves,
    // the shape the cost model picks when the prologue is folded in.
    const int n[4] = {96, 64, 16, 16};
    RandomW4 r0 = randomW4(n[0], D, 32, false),
             r1 = randomW4(n[1], D, 32, false);
    DeviceBuffer<int32_t> q0(r0.packed.qweight), q1(r1.packed.qweight);
    DeviceBuffer<uint16_t> s0(r0.packed.scales), s1(r1.packed.scales);
    DeviceBuffer<uint16_t> b2(randomBf16(static_cast<size_t>(n[2]) * D, 0.05f)),
        b3(randomBf16(static_cast<size_t>(n[3]) * D, 0.05f));
    std::vector<std::unique_ptr<DeviceBuffer<float>>> y0, y1;
    for (int i = 0; i < 4; ++i) {
      y0.push_back(
          std::make_unique<DeviceBuffer<float>>(static_cast<size_t>(n[i])));
      y1.push_back(
          std::make_unique<DeviceBuffer<float>>(static_cast<size_t>(n[i])));
    }
    int blocks = 0;
    for (int v : n) {
      blocks += (v + 15) / 16; // 2 rows x 1 group x 8 waves
    }
    fd::kernels::gemv_segments4<2, 32, 8, 32, false, 1, 1, 2, 2>
        <<<blocks, 256>>>(x.ptr, D, q0.ptr, s0.ptr, nullptr, y0[0]->ptr, n[0],
                          q1.ptr, s1.ptr, nullptr, y0[1]->ptr, n[1], b2.ptr,
                          nullptr, nullptr, y0[2]->ptr, n[2], b3.ptr, nullptr,
                          nullptr, y0[3]->ptr, n[3]);
    CHECK_LAUNCH();
    fd::kernels::gemv_segments4<2, 32, 8, 32, false, 1, 1, 2, 2, NORM, D>
        <<<blocks, 256>>>(nullptr, D, q0.ptr, s0.ptr, nullptr, y1[0]->ptr, n[0],
                          q1.ptr, s1.ptr, nullptr, y1[1]->ptr, n[1], b2.ptr,
                          nullptr, nullptr, y1[2]->ptr, n[2], b3.ptr, nullptr,
                          nullptr, y1[3]->ptr, n[3], dh.ptr, dw.ptr, nullptr,
                          eps);
    CHECK_LAUNCH();
    bool same = true;
    for (int i = 0; i < 4; ++i) {
      same = same && sameBits(*y0[i], *y1[i]);
    }
    reportExact("gemv_segments4 (w4 | w4 | bf16 | bf16, 8 waves) + norm "
                "prologue (" +
                    tag + ")",
                same);
  }
  { // gemv_segments3 (w4 x 3: attention's q | k | v) with 8 waves.
    const int n[3] = {128, 16, 16};
    RandomW4 r[3] = {randomW4(n[0], D, 32, false), randomW4(n[1], D, 32, false),
                     randomW4(n[2], D, 32, false)};
    std::vector<std::unique_ptr<DeviceBuffer<int32_t>>> q;
    std::vector<std::unique_ptr<DeviceBuffer<uint16_t>>> sc;
    std::vector<std::unique_ptr<DeviceBuffer<float>>> y0, y1;
    int blocks = 0;
    for (int i = 0; i < 3; ++i) {
      q.push_back(std::make_unique<DeviceBuffer<int32_t>>(r[i].packed.qweight));
      sc.push_back(
          std::make_unique<DeviceBuffer<uint16_t>>(r[i].packed.scales));
      y0.push_back(
          std::make_unique<DeviceBuffer<float>>(static_cast<size_t>(n[i])));
      y1.push_back(
          std::make_unique<DeviceBuffer<float>>(static_cast<size_t>(n[i])));
      blocks += (n[i] + 7) / 8; // 1 row x 1 group x 8 waves
    }
    fd::kernels::gemv_segments3<1, 32, 8, 32, false, 1, 1, 1><<<blocks, 256>>>(
        x.ptr, D, q[0]->ptr, sc[0]->ptr, nullptr, y0[0]->ptr, n[0], q[1]->ptr,
        sc[1]->ptr, nullptr, y0[1]->ptr, n[1], q[2]->ptr, sc[2]->ptr, nullptr,
        y0[2]->ptr, n[2]);
    CHECK_LAUNCH();
    fd::kernels::gemv_segments3<1, 32, 8, 32, false, 1, 1, 1, NORM, D>
        <<<blocks, 256>>>(nullptr, D, q[0]->ptr, sc[0]->ptr, nullptr,
                          y1[0]->ptr, n[0], q[1]->ptr, sc[1]->ptr, nullptr,
                          y1[1]->ptr, n[1], q[2]->ptr, sc[2]->ptr, nullptr,
                          y1[2]->ptr, n[2], dh.ptr, dw.ptr, nullptr, eps);
    CHECK_LAUNCH();
    bool same = true;
    for (int i = 0; i < 3; ++i) {
      same = same && sameBits(*y0[i], *y1[i]);
    }
    reportExact(
        "gemv_segments3 (w4 x 3, 8 waves) + norm prologue (" + tag + ")", same);
  }
  { // The fused router: logits, ids and weights.
    const int e = 256, topk = 8;
    DeviceBuffer<uint16_t> wr(randomBf16(static_cast<size_t>(e) * D, 0.05f));
    DeviceBuffer<uint32_t> done(std::vector<uint32_t>{0u});
    DeviceBuffer<float> l0(static_cast<size_t>(e)), l1(static_cast<size_t>(e)),
        w0(static_cast<size_t>(topk)), w1(static_cast<size_t>(topk));
    DeviceBuffer<int32_t> i0(static_cast<size_t>(topk)),
        i1(static_cast<size_t>(topk));
    const int blocks = (e + 3) / 4;
    fd::kernels::router_gemv_topk<1, 32, 4, 32, false, 2>
        <<<blocks, 128>>>(x.ptr, D, wr.ptr, nullptr, nullptr, l0.ptr, e, topk,
                          1, i0.ptr, w0.ptr, done.ptr);
    CHECK_LAUNCH();
    published.poison();
    fd::kernels::router_gemv_topk<1, 32, 4, 32, false, 2, NORM, D>
        <<<blocks, 128>>>(nullptr, D, wr.ptr, nullptr, nullptr, l1.ptr, e, topk,
                          1, i1.ptr, w1.ptr, done.ptr, dh.ptr, dw.ptr,
                          published.ptr, eps);
    CHECK_LAUNCH();
    reportExact("router_gemv_topk + norm prologue (" + tag + ")",
                sameBits(l0, l1) && sameBits(i0, i1) && sameBits(w0, w1) &&
                    sameBits(x, published));
  }
}

/// Programmatic dependent launch (the plan's "overlap", sm_90+): a chain of
/// dependent launches, rms_norm (float row -> bf16) then gemv_bf16 (prefetch
/// of its own weights before waitForPreviousLaunch, bf16 row -> the next
/// float row), `links` times over distinct matrices that together exceed
/// L2. Captured twice, in stream order and with every launch marked
/// overlapping; each of `replays` overlapped replays, every row poisoned
/// before it, must equal the stream-order bits: a kernel that touched a row
/// before its wait would read the poison or the previous link's bf16 row.
void checkOverlapChain(int d, int links, int replays) {
  constexpr int kNormThreads = 256, kRows = 2, kLanes = 32, kWaves = 4;
  constexpr int kRowsPerBlock = kRows * (32 / kLanes) * kWaves;
  const float eps = 1e-6f;
  std::vector<std::unique_ptr<DeviceBuffer<uint16_t>>> mats;
  std::vector<std::unique_ptr<DeviceBuffer<float>>> rows;
  for (int i = 0; i < links; ++i) {
    mats.push_back(std::make_unique<DeviceBuffer<uint16_t>>(randomBf16(
        static_cast<size_t>(d) * d, 1.0f / std::sqrt(static_cast<float>(d)))));
  }
  rows.push_back(std::make_unique<DeviceBuffer<float>>(randomF(d, 2.0f)));
  for (int i = 0; i < links; ++i) {
    rows.push_back(
        std::make_unique<DeviceBuffer<float>>(static_cast<size_t>(d)));
  }
  DeviceBuffer<uint16_t> normW(randomBf16(d, 0.2f)), xb(static_cast<size_t>(d));
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  auto capture = [&](bool overlap) {
    cudaLaunchAttribute attr{};
    attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr.val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t config{};
    config.stream = stream;
    config.attrs = &attr;
    config.numAttrs = overlap ? 1 : 0;
    cudaGraph_t graph;
    CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < links; ++i) {
      config.gridDim = dim3(1);
      config.blockDim = dim3(kNormThreads);
      CHECK(cudaLaunchKernelEx(
          &config, fd::kernels::rms_norm<kNormThreads, true, float, uint16_t>,
          static_cast<const float *>(rows[i]->ptr),
          static_cast<const uint16_t *>(normW.ptr), xb.ptr, d, eps));
      config.gridDim = dim3((d + kRowsPerBlock - 1) / kRowsPerBlock);
      config.blockDim = dim3(kWaves * 32);
      CHECK(cudaLaunchKernelEx(
          &config,
          fd::kernels::gemv_bf16<kRows, kLanes, 1, kWaves, false, false>,
          static_cast<const uint16_t *>(mats[i]->ptr),
          static_cast<const uint16_t *>(xb.ptr),
          static_cast<void *>(rows[i + 1]->ptr), d, d,
          static_cast<const float *>(nullptr),
          static_cast<const uint16_t *>(nullptr),
          static_cast<uint16_t *>(nullptr), 0.0f));
    }
    CHECK(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec;
    CHECK(cudaGraphInstantiate(&exec, graph, 0));
    CHECK(cudaGraphDestroy(graph));
    return exec;
  };
  auto replay = [&](cudaGraphExec_t exec) {
    for (int i = 1; i <= links; ++i) {
      CHECK(cudaMemsetAsync(rows[i]->ptr, 0xFF, d * sizeof(float), stream));
    }
    CHECK(cudaMemsetAsync(xb.ptr, 0xFF, d * sizeof(uint16_t), stream));
    CHECK(cudaGraphLaunch(exec, stream));
    CHECK(cudaStreamSynchronize(stream));
    CHECK(cudaGetLastError());
    std::vector<float> all;
    for (int i = 1; i <= links; ++i) {
      const std::vector<float> r = rows[i]->read();
      all.insert(all.end(), r.begin(), r.end());
    }
    return all;
  };
  cudaGraphExec_t serial = capture(false), overlapped = capture(true);
  const std::vector<float> want = replay(serial);
  size_t nonFinite = 0;
  for (float v : want) {
    nonFinite += !std::isfinite(v);
  }
  int equal = 0;
  for (int r = 0; r < replays; ++r) {
    const std::vector<float> got = replay(overlapped);
    equal += std::memcmp(got.data(), want.data(), got.size() * 4) == 0;
  }
  CHECK(cudaGraphExecDestroy(serial));
  CHECK(cudaGraphExecDestroy(overlapped));
  CHECK(cudaStreamDestroy(stream));
  char what[160];
  std::snprintf(what, sizeof what,
                "overlapped launches: rms_norm -> gemv_bf16 x %d, d=%d, "
                "%d/%d replays",
                links, d, equal, replays);
  reportExact(what, equal == replays && nonFinite == 0);
}

void checkEmbed(int vocab, int h, int tokens) {
  std::vector<uint16_t> table =
      randomBf16(static_cast<size_t>(vocab) * h, 1.0f);
  std::vector<int32_t> ids(tokens);
  std::uniform_int_distribution<int32_t> pick(0, vocab - 1);
  for (auto &id : ids) {
    id = pick(rng);
  }
  ids[0] = vocab - 1; // the last row too
  DeviceBuffer<uint16_t> dt(table), dout(static_cast<size_t>(tokens) * h);
  DeviceBuffer<int32_t> di(ids);
  fd::kernels::embed<256><<<tokens, 256>>>(dt.ptr, di.ptr, dout.ptr, h);
  CHECK_LAUNCH();
  std::vector<uint16_t> out = dout.read();
  size_t wrong = 0;
  for (int t = 0; t < tokens; ++t) {
    wrong += std::memcmp(&out[static_cast<size_t>(t) * h],
                         &table[static_cast<size_t>(ids[t]) * h], h * 2) != 0;
  }
  char what[120];
  std::snprintf(what, sizeof what,
                "embed<256> vocab=%d H=%d tokens=%d (exact copy)", vocab, h,
                tokens);
  report(what, wrong ? 2.0 : 0.0, 0);
  // Into the float residual stream: bf16 widened exactly.
  DeviceBuffer<float> dfo(static_cast<size_t>(tokens) * h);
  fd::kernels::embed<256, float><<<tokens, 256>>>(dt.ptr, di.ptr, dfo.ptr, h);
  CHECK_LAUNCH();
  std::vector<float> fo = dfo.read();
  size_t wrongF = 0;
  for (int t = 0; t < tokens; ++t) {
    for (int i = 0; i < h; ++i) {
      wrongF += fo[static_cast<size_t>(t) * h + i] !=
                fromBf16(table[static_cast<size_t>(ids[t]) * h + i]);
    }
  }
  std::snprintf(what, sizeof what,
                "embed<256, float> vocab=%d H=%d tokens=%d (exact)", vocab, h,
                tokens);
  report(what, wrongF ? 2.0 : 0.0, 0);
}

void checkArgmax(int n) {
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> v(n);
  for (auto &x : v) {
    x = d(rng);
  }
  std::uniform_int_distribution<int> pick(0, n - 1);
  int a = pick(rng), b = pick(rng);
  float top = 100.0f;
  v[a] = top;
  v[b] = top; // a tie: the lower index must win
  int want = std::min(a, b);
  DeviceBuffer<float> dv(v);
  DeviceBuffer<int32_t> dout(1);
  fd::kernels::argmax<1024><<<1, 1024>>>(dv.ptr, n, dout.ptr);
  CHECK_LAUNCH();
  int got = dout.read()[0];
  char what[120];
  std::snprintf(what, sizeof what,
                "argmax<1024> n=%d (tie at %d and %d -> %d, got %d)", n, a, b,
                want, got);
  report(what, got == want ? 0.0 : 2.0, 0);
}

std::vector<float> randomF(size_t n, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto &x : v) {
    x = d(rng);
  }
  return v;
}

/// Elementwise check: |got - ref| <= rel * |ref| + abs, finite.
template <typename Get>
void compareAll(const std::string &what, const std::vector<double> &ref,
                Get got, double rel, double abs) {
  double worst = 0;
  size_t bad = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double g = got(i);
    if (!std::isfinite(g)) {
      ++bad;
      continue;
    }
    worst = std::max(worst,
                     std::fabs(g - ref[i]) / (rel * std::fabs(ref[i]) + abs));
  }
  report(what, worst, bad);
}

double sigmoidD(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double siluD(double x) { return x / (1.0 + std::exp(-x)); }

template <int LANES>
void checkExperts(int e, int slots, int n, int k, bool sharedX) {
  constexpr int G = 128;
  std::vector<int32_t> allQ;
  std::vector<uint16_t> allS;
  std::vector<std::vector<float>> w(e);
  for (int ex = 0; ex < e; ++ex) {
    RandomW4 rw = randomW4(n, k, G, false);
    allQ.insert(allQ.end(), rw.packed.qweight.begin(), rw.packed.qweight.end());
    allS.insert(allS.end(), rw.packed.scales.begin(), rw.packed.scales.end());
    w[ex] = std::move(rw.w);
  }
  std::vector<int32_t> ids(e);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  ids.resize(slots);
  std::vector<uint16_t> x =
      randomBf16(static_cast<size_t>(sharedX ? 1 : slots) * k, 1.0f);
  std::vector<double> ref(static_cast<size_t>(slots) * n), absSum(ref.size());
  for (int s = 0; s < slots; ++s) {
    const uint16_t *xs = x.data() + (sharedX ? 0 : static_cast<size_t>(s) * k);
    matvecRef(w[ids[s]].data(), xs, n, k,
              ref.data() + static_cast<size_t>(s) * n,
              absSum.data() + static_cast<size_t>(s) * n);
  }
  DeviceBuffer<int32_t> dq(allQ), di(ids);
  DeviceBuffer<uint16_t> ds(allS), dx(x);
  DeviceBuffer<uint8_t> dz(static_cast<size_t>(0));
  DeviceBuffer<float> dy(ref.size());
  dim3 grid((n + 8 * (32 / LANES) - 1) / (8 * (32 / LANES)), slots);
  fd::kernels::gemv_w4a16_experts<2, LANES, 4, G, false, false><<<grid, 128>>>(
      dq.ptr, ds.ptr, dz.ptr, di.ptr, dx.ptr, sharedX ? 0 : k, dy.ptr, n, k);
  CHECK_LAUNCH();
  std::vector<float> y = dy.read();
  char what[160];
  std::snprintf(what, sizeof what,
                "gemv_w4a16_experts<2,%d,4,128> E=%d slots=%d N=%d K=%d x %s",
                LANES, e, slots, n, k, sharedX ? "shared" : "per slot");
  compareGemv<false>(what, ref, absSum, y.data(), y.size());
}

/// A GLU launch's bf16 output against the double reference
/// silu(gate x) * (up x) and, bit for bit, against the unfused launches
/// (two GEMVs with the same LANES, then silu_mul). Tolerance per element:
/// the GEMVs' fp32 error (kRel * sum |w x|) carried through silu' <= 1.1 and
/// the product, plus half a bf16 ulp of the result.
void compareGlu(const std::string &what, const std::vector<double> &gRef,
                const std::vector<double> &gAbs,
                const std::vector<double> &uRef,
                const std::vector<double> &uAbs,
                const std::vector<uint16_t> &fused,
                const std::vector<uint16_t> &unfused) {
  constexpr double kRel = 2e-5;
  double worst = 0;
  size_t bad = 0, differ = 0;
  for (size_t i = 0; i < gRef.size(); ++i) {
    const double y = fromBf16(fused[i]);
    differ += fused[i] != unfused[i];
    if (!std::isfinite(y)) {
      ++bad;
      continue;
    }
    const double ref = siluD(gRef[i]) * uRef[i];
    const double tol = 1.1 * kRel * gAbs[i] * std::fabs(uRef[i]) +
                       std::fabs(siluD(gRef[i])) * kRel * uAbs[i] +
                       std::ldexp(std::fabs(ref), -8) + 1e-30;
    worst = std::max(worst, std::fabs(y - ref) / tol);
  }
  char tail[64];
  std::snprintf(tail, sizeof tail,
                differ ? " (%zu differ from unfused)"
                       : " (= unfused, bit for bit)",
                differ);
  report(what + tail, differ ? std::max(worst, 2.0) : worst, bad);
}

void launchSiluMul(const float *g, const float *u, uint16_t *out, int n) {
  fd::kernels::silu_mul<256><<<(n + 255) / 256, 256>>>(g, u, out, n);
  CHECK_LAUNCH();
}

template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS>
void checkGluW4(int n, int k) {
  RandomW4 gate = randomW4(n, k, GROUP, ZEROS),
           up = randomW4(n, k, GROUP, ZEROS);
  if (ZEROS != !gate.packed.zeros.empty() ||
      ZEROS != !up.packed.zeros.empty()) {
    std::printf("SKIP random zeros all 8\n");
    return;
  }
  std::vector<uint16_t> x = randomBf16(k, 1.0f);
  std::vector<double> gRef(n), gAbs(n), uRef(n), uAbs(n);
  matvecRef(gate.w.data(), x.data(), n, k, gRef.data(), gAbs.data());
  matvecRef(up.w.data(), x.data(), n, k, uRef.data(), uAbs.data());
  DeviceBuffer<int32_t> gq(gate.packed.qweight), uq(up.packed.qweight);
  DeviceBuffer<uint16_t> gs(gate.packed.scales), us(up.packed.scales), dx(x);
  DeviceBuffer<uint8_t> gz(gate.packed.zeros), uz(up.packed.zeros);
  DeviceBuffer<uint16_t> dy(static_cast<size_t>(n)),
      dyu(static_cast<size_t>(n));
  DeviceBuffer<float> g(static_cast<size_t>(n)), u(static_cast<size_t>(n));
  const int rowsPerBlock = ROWS * (32 / LANES) * WAVES;
  const int grid = (n + rowsPerBlock - 1) / rowsPerBlock;
  fd::kernels::gemv_w4a16_glu<ROWS, LANES, WAVES, GROUP, ZEROS>
      <<<grid, WAVES * 32>>>(gq.ptr, gs.ptr, gz.ptr, uq.ptr, us.ptr, uz.ptr,
                             dx.ptr, dy.ptr, n, k);
  CHECK_LAUNCH();
  fd::kernels::gemv_w4a16<ROWS, LANES, 1, WAVES, GROUP, ZEROS, false, false>
      <<<grid, WAVES * 32>>>(gq.ptr, gs.ptr, gz.ptr, dx.ptr, g.ptr, n, k);
  CHECK_LAUNCH();
  fd::kernels::gemv_w4a16<ROWS, LANES, 1, WAVES, GROUP, ZEROS, false, false>
      <<<grid, WAVES * 32>>>(uq.ptr, us.ptr, uz.ptr, dx.ptr, u.ptr, n, k);
  CHECK_LAUNCH();
  launchSiluMul(g.ptr, u.ptr, dyu.ptr, n);
  char what[160];
  std::snprintf(what, sizeof what,
                "gemv_w4a16_glu<rows %d, lanes %d, waves %d, g %d, zeros %d> "
                "N=%d K=%d",
                ROWS, LANES, WAVES, GROUP, ZEROS, n, k);
  compareGlu(what, gRef, gAbs, uRef, uAbs, dy.read(), dyu.read());
}

template <int ROWS, int LANES, int WAVES> void checkGluBf16(int n, int k) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(k));
  std::vector<uint16_t> wg = randomBf16(static_cast<size_t>(n) * k, scale),
                        wu = randomBf16(wg.size(), scale),
                        x = randomBf16(k, 1.0f);
  std::vector<float> wgF(wg.size()), wuF(wu.size());
  for (size_t i = 0; i < wg.size(); ++i) {
    wgF[i] = fromBf16(wg[i]);
    wuF[i] = fromBf16(wu[i]);
  }
  std::vector<double> gRef(n), gAbs(n), uRef(n), uAbs(n);
  matvecRef(wgF.data(), x.data(), n, k, gRef.data(), gAbs.data());
  matvecRef(wuF.data(), x.data(), n, k, uRef.data(), uAbs.data());
  DeviceBuffer<uint16_t> dwg(wg), dwu(wu), dx(x);
  DeviceBuffer<uint16_t> dy(static_cast<size_t>(n)),
      dyu(static_cast<size_t>(n));
  DeviceBuffer<float> g(static_cast<size_t>(n)), u(static_cast<size_t>(n));
  const int rowsPerBlock = ROWS * (32 / LANES) * WAVES;
  const int grid = (n + rowsPerBlock - 1) / rowsPerBlock;
  fd::kernels::gemv_bf16_glu<ROWS, LANES, WAVES>
      <<<grid, WAVES * 32>>>(dwg.ptr, dwu.ptr, dx.ptr, dy.ptr, n, k);
  CHECK_LAUNCH();
  fd::kernels::gemv_bf16<ROWS, LANES, 1, WAVES, false, false>
      <<<grid, WAVES * 32>>>(dwg.ptr, dx.ptr, g.ptr, n, k);
  CHECK_LAUNCH();
  fd::kernels::gemv_bf16<ROWS, LANES, 1, WAVES, false, false>
      <<<grid, WAVES * 32>>>(dwu.ptr, dx.ptr, u.ptr, n, k);
  CHECK_LAUNCH();
  launchSiluMul(g.ptr, u.ptr, dyu.ptr, n);
  char what[160];
  std::snprintf(what, sizeof what,
                "gemv_bf16_glu<rows %d, lanes %d, waves %d> N=%d K=%d", ROWS,
                LANES, WAVES, n, k);
  compareGlu(what, gRef, gAbs, uRef, uAbs, dy.read(), dyu.read());
}

template <int ROWS, int LANES, int WAVES>
void checkGluExperts(int e, int slots, int n, int k) {
  constexpr int G = 128;
  std::vector<int32_t> gQ, uQ;
  std::vector<uint16_t> gS, uS;
  std::vector<RandomW4> gates, ups;
  for (int ex = 0; ex < e; ++ex) {
    gates.push_back(randomW4(n, k, G, false));
    ups.push_back(randomW4(n, k, G, false));
    gQ.insert(gQ.end(), gates.back().packed.qweight.begin(),
              gates.back().packed.qweight.end());
    gS.insert(gS.end(), gates.back().packed.scales.begin(),
              gates.back().packed.scales.end());
    uQ.insert(uQ.end(), ups.back().packed.qweight.begin(),
              ups.back().packed.qweight.end());
    uS.insert(uS.end(), ups.back().packed.scales.begin(),
              ups.back().packed.scales.end());
  }
  std::vector<int32_t> ids(e);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  ids.resize(slots);
  std::vector<uint16_t> x = randomBf16(k, 1.0f);
  const size_t total = static_cast<size_t>(slots) * n;
  std::vector<double> gRef(total), gAbs(total), uRef(total), uAbs(total);
  for (int s = 0; s < slots; ++s) {
    const size_t o = static_cast<size_t>(s) * n;
    matvecRef(gates[ids[s]].w.data(), x.data(), n, k, gRef.data() + o,
              gAbs.data() + o);
    matvecRef(ups[ids[s]].w.data(), x.data(), n, k, uRef.data() + o,
              uAbs.data() + o);
  }
  DeviceBuffer<int32_t> dgq(gQ), duq(uQ), di(ids);
  DeviceBuffer<uint16_t> dgs(gS), dus(uS), dx(x);
  DeviceBuffer<uint8_t> dz(static_cast<size_t>(0));
  DeviceBuffer<uint16_t> dy(total), dyu(total);
  DeviceBuffer<float> g(total), u(total);
  const int rowsPerBlock = ROWS * (32 / LANES) * WAVES;
  const dim3 grid((n + rowsPerBlock - 1) / rowsPerBlock, slots);
  fd::kernels::gemv_w4a16_experts_glu<ROWS, LANES, WAVES, G, false>
      <<<grid, WAVES * 32>>>(dgq.ptr, dgs.ptr, dz.ptr, duq.ptr, dus.ptr, dz.ptr,
                             di.ptr, dx.ptr, dy.ptr, n, k);
  CHECK_LAUNCH();
  fd::kernels::gemv_w4a16_experts<ROWS, LANES, WAVES, G, false, false>
      <<<grid, WAVES * 32>>>(dgq.ptr, dgs.ptr, dz.ptr, di.ptr, dx.ptr, 0, g.ptr,
                             n, k);
  CHECK_LAUNCH();
  fd::kernels::gemv_w4a16_experts<ROWS, LANES, WAVES, G, false, false>
      <<<grid, WAVES * 32>>>(duq.ptr, dus.ptr, dz.ptr, di.ptr, dx.ptr, 0, u.ptr,
                             n, k);
  CHECK_LAUNCH();
  launchSiluMul(g.ptr, u.ptr, dyu.ptr, static_cast<int>(total));
  DeviceBuffer<uint16_t> dyp(total);
  gemvW4a16ExpertsGluPerLane<ROWS, LANES, WAVES, G, false>
      <<<grid, WAVES * 32>>>(dgq.ptr, dgs.ptr, dz.ptr, duq.ptr, dus.ptr, dz.ptr,
                             di.ptr, dx.ptr, dyp.ptr, n, k);
  CHECK_LAUNCH();
  char same[160];
  std::snprintf(same, sizeof same,
                "gemv_w4a16_experts_glu = its per-lane step <rows %d, lanes "
                "%d, waves %d> N=%d K=%d",
                ROWS, LANES, WAVES, n, k);
  reportExact(same, sameBits(dy, dyp));
  char what[160];
  std::snprintf(what, sizeof what,
                "gemv_w4a16_experts_glu<rows %d, lanes %d, waves %d> E=%d "
                "slots=%d N=%d K=%d",
                ROWS, LANES, WAVES, e, slots, n, k);
  compareGlu(what, gRef, gAbs, uRef, uAbs, dy.read(), dyu.read());
}

/// A horizontally fused launch (gemv_segments2/3/4): each segment's float
/// output against the double reference (the GEMV tolerance) and, bit for
/// bit, against the lone gemv_w4a16 / gemv_bf16 with the same parameters.
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, int... KINDS>
void checkSegments(const std::vector<int> &ns, int k) {
  constexpr int kCount = sizeof...(KINDS);
  const int kinds[kCount] = {KINDS...};
  std::vector<uint16_t> x = randomBf16(k, 1.0f);
  DeviceBuffer<uint16_t> dx(x);
  struct Seg {
    std::vector<double> ref, absSum;
    std::unique_ptr<DeviceBuffer<int32_t>> q;
    std::unique_ptr<DeviceBuffer<uint16_t>> s, w;
    std::unique_ptr<DeviceBuffer<uint8_t>> z;
    std::unique_ptr<DeviceBuffer<float>> y, lone;
    fd::kernels::GemvSegment arg{};
  };
  std::vector<Seg> segs(kCount);
  for (int i = 0; i < kCount; ++i) {
    Seg &g = segs[i];
    const int n = ns[i];
    g.ref.resize(n);
    g.absSum.resize(n);
    if (kinds[i] == fd::kernels::kSegmentW4) {
      RandomW4 rw = randomW4(n, k, GROUP, ZEROS);
      matvecRef(rw.w.data(), x.data(), n, k, g.ref.data(), g.absSum.data());
      g.q = std::make_unique<DeviceBuffer<int32_t>>(rw.packed.qweight);
      g.s = std::make_unique<DeviceBuffer<uint16_t>>(rw.packed.scales);
      g.z = std::make_unique<DeviceBuffer<uint8_t>>(rw.packed.zeros);
      g.arg = {g.q->ptr, g.s->ptr, ZEROS ? g.z->ptr : nullptr, nullptr, n};
    } else {
      std::vector<uint16_t> w = randomBf16(
          static_cast<size_t>(n) * k, 1.0f / std::sqrt(static_cast<float>(k)));
      std::vector<float> wf(w.size());
      for (size_t j = 0; j < w.size(); ++j) {
        wf[j] = fromBf16(w[j]);
      }
      matvecRef(wf.data(), x.data(), n, k, g.ref.data(), g.absSum.data());
      g.w = std::make_unique<DeviceBuffer<uint16_t>>(w);
      g.arg = {g.w->ptr, nullptr, nullptr, nullptr, n};
    }
    g.y = std::make_unique<DeviceBuffer<float>>(static_cast<size_t>(n));
    g.lone = std::make_unique<DeviceBuffer<float>>(static_cast<size_t>(n));
    g.arg.y = g.y->ptr;
  }
  const int rowsPerBlock = ROWS * (32 / LANES) * WAVES;
  int blocks = 0;
  for (int i = 0; i < kCount; ++i) {
    blocks += (ns[i] + rowsPerBlock - 1) / rowsPerBlock;
  }
  const auto &a = segs;
  if constexpr (kCount == 2) {
    fd::kernels::gemv_segments2<ROWS, LANES, WAVES, GROUP, ZEROS, KINDS...>
        <<<blocks, WAVES * 32>>>(dx.ptr, k, a[0].arg.w, a[0].arg.scales,
                                 a[0].arg.zeros, a[0].arg.y, a[0].arg.n,
                                 a[1].arg.w, a[1].arg.scales, a[1].arg.zeros,
                                 a[1].arg.y, a[1].arg.n);
  } else if constexpr (kCount == 3) {
    fd::kernels::gemv_segments3<ROWS, LANES, WAVES, GROUP, ZEROS, KINDS...>
        <<<blocks, WAVES * 32>>>(
            dx.ptr, k, a[0].arg.w, a[0].arg.scales, a[0].arg.zeros, a[0].arg.y,
            a[0].arg.n, a[1].arg.w, a[1].arg.scales, a[1].arg.zeros, a[1].arg.y,
            a[1].arg.n, a[2].arg.w, a[2].arg.scales, a[2].arg.zeros, a[2].arg.y,
            a[2].arg.n);
  } else {
    fd::kernels::gemv_segments4<ROWS, LANES, WAVES, GROUP, ZEROS, KINDS...>
        <<<blocks, WAVES * 32>>>(
            dx.ptr, k, a[0].arg.w, a[0].arg.scales, a[0].arg.zeros, a[0].arg.y,
            a[0].arg.n, a[1].arg.w, a[1].arg.scales, a[1].arg.zeros, a[1].arg.y,
            a[1].arg.n, a[2].arg.w, a[2].arg.scales, a[2].arg.zeros, a[2].arg.y,
            a[2].arg.n, a[3].arg.w, a[3].arg.scales, a[3].arg.zeros, a[3].arg.y,
            a[3].arg.n);
  }
  CHECK_LAUNCH();
  for (int i = 0; i < kCount; ++i) {
    const Seg &g = segs[i];
    const int n = ns[i];
    const int grid = (n + rowsPerBlock - 1) / rowsPerBlock;
    if (kinds[i] == fd::kernels::kSegmentW4) {
      fd::kernels::gemv_w4a16<ROWS, LANES, 1, WAVES, GROUP, ZEROS, false, false>
          <<<grid, WAVES * 32>>>(static_cast<const int32_t *>(g.arg.w),
                                 g.arg.scales, g.arg.zeros, dx.ptr, g.lone->ptr,
                                 n, k);
    } else {
      fd::kernels::gemv_bf16<ROWS, LANES, 1, WAVES, false, false>
          <<<grid, WAVES * 32>>>(static_cast<const uint16_t *>(g.arg.w), dx.ptr,
                                 g.lone->ptr, n, k);
    }
    CHECK_LAUNCH();
    std::vector<float> y = g.y->read(), lone = g.lone->read();
    size_t differ = 0;
    for (int r = 0; r < n; ++r) {
      differ += std::memcmp(&y[r], &lone[r], sizeof(float)) != 0;
    }
    char what[200];
    std::snprintf(what, sizeof what,
                  "gemv_segments%d<rows %d, lanes %d, waves %d> seg %d/%d %s "
                  "N=%d K=%d (%s)",
                  kCount, ROWS, LANES, WAVES, i, kCount,
                  kinds[i] == fd::kernels::kSegmentW4 ? "w4" : "bf16", n, k,
                  differ ? "DIFFERS from the lone GEMV" : "= lone GEMV");
    if (differ) {
      report(what, 2.0, 0);
    } else {
      compareGemv<false>(what, g.ref, g.absSum, y.data(), y.size());
    }
  }
}

void checkRouter(int e, int k, bool renorm) {
  std::vector<float> logits = randomF(e, 2.0f);
  DeviceBuffer<float> dl(logits);
  DeviceBuffer<int32_t> di(static_cast<size_t>(k));
  DeviceBuffer<float> dw(static_cast<size_t>(k));
  fd::kernels::router_topk<256>
      <<<1, 256>>>(dl.ptr, e, k, renorm ? 1 : 0, di.ptr, dw.ptr);
  CHECK_LAUNCH();
  std::vector<double> p(e);
  double m = *std::max_element(logits.begin(), logits.end()), sum = 0;
  for (int i = 0; i < e; ++i) {
    p[i] = std::exp(logits[i] - m);
    sum += p[i];
  }
  std::vector<int> order(e);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return p[a] > p[b] || (p[a] == p[b] && a < b);
  });
  double top = 0;
  for (int r = 0; r < k; ++r) {
    top += p[order[r]] / sum;
  }
  std::vector<int32_t> ids = di.read();
  std::vector<float> wts = dw.read();
  std::vector<double> ref(k);
  bool idsOk = true;
  for (int r = 0; r < k; ++r) {
    idsOk &= ids[r] == order[r];
    ref[r] = p[order[r]] / sum / (renorm ? top : 1.0);
  }
  char what[120];
  std::snprintf(what, sizeof what,
                "router_topk<256> E=%d k=%d renorm=%d (ids %s)", e, k, renorm,
                idsOk ? "equal" : "DIFFER");
  // fp32 softmax: a few ulps of the probabilities.
  compareAll(
      what, ref,
      [&](size_t i) { return idsOk ? static_cast<double>(wts[i]) : NAN; }, 1e-5,
      1e-9);
}

void checkMoeTail(int slots, int d) {
  std::vector<float> gate = randomF(static_cast<size_t>(slots) * d, 2.0f),
                     up = randomF(gate.size(), 1.0f);
  DeviceBuffer<float> dg(gate), du(up);
  DeviceBuffer<uint16_t> dout(gate.size());
  fd::kernels::silu_mul<256>
      <<<(static_cast<int>(gate.size()) + 255) / 256, 256>>>(
          dg.ptr, du.ptr, dout.ptr, static_cast<int>(gate.size()));
  CHECK_LAUNCH();
  std::vector<uint16_t> o = dout.read();
  std::vector<double> ref(gate.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    ref[i] = siluD(gate[i]) * up[i];
  }
  char what[120];
  std::snprintf(what, sizeof what, "silu_mul<256> n=%d (bf16 out)",
                static_cast<int>(gate.size()));
  compareAll(
      what, ref, [&](size_t i) { return fromBf16(o[i]); },
      std::ldexp(1.0, -8) + 1e-6, 1e-30);

  std::vector<float> h = randomF(d, 3.0f),
                     experts = randomF(static_cast<size_t>(slots) * d, 1.0f),
                     wts = randomF(slots, 0.3f), shared = randomF(d, 1.0f),
                     g = randomF(1, 1.0f);
  DeviceBuffer<float> dh(h), de(experts), dw(wts), dsh(shared), dgt(g);
  fd::kernels::moe_combine<256><<<(d + 255) / 256, 256>>>(
      dh.ptr, dh.ptr, de.ptr, dw.ptr, slots, dsh.ptr, dgt.ptr, d);
  CHECK_LAUNCH();
  std::vector<float> got = dh.read();
  std::vector<double> ref2(d);
  for (int j = 0; j < d; ++j) {
    double acc = 0;
    for (int s = 0; s < slots; ++s) {
      acc +=
          static_cast<double>(wts[s]) * experts[static_cast<size_t>(s) * d + j];
    }
    ref2[j] = h[j] + acc + sigmoidD(g[0]) * shared[j];
  }
  std::snprintf(what, sizeof what, "moe_combine<256> slots=%d D=%d", slots, d);
  compareAll(what, ref2, [&](size_t i) { return got[i]; }, 1e-6, 1e-6);
}

/// A random router-like matrix of `rows` x k on the device: w4a16 words and
/// scales (KIND 1, group `group`, no zero points) or bf16 (KIND 2) scaled
/// for logits of order 3.
struct DeviceMatrix {
  std::unique_ptr<DeviceBuffer<int32_t>> q;
  std::unique_ptr<DeviceBuffer<uint16_t>> s, b;
  const void *w() const {
    return q ? static_cast<const void *>(q->ptr) : b->ptr;
  }
  const uint16_t *scales() const { return s ? s->ptr : nullptr; }
};
DeviceMatrix randomDeviceMatrix(int kind, int rows, int k, int group) {
  DeviceMatrix m;
  if (kind == fd::kernels::kSegmentW4) {
    RandomW4 rw = randomW4(rows, k, group, false);
    m.q = std::make_unique<DeviceBuffer<int32_t>>(rw.packed.qweight);
    m.s = std::make_unique<DeviceBuffer<uint16_t>>(rw.packed.scales);
  } else {
    m.b = std::make_unique<DeviceBuffer<uint16_t>>(
        randomBf16(static_cast<size_t>(rows) * k,
                   3.0f / std::sqrt(static_cast<float>(k))));
  }
  return m;
}

/// router_gemv_topk (GEMV, softmax and top-k in one launch, the last block
/// doing the top-k) against the unfused gemv_bf16 / gemv_w4a16 +
/// router_topk<256> with the same ROWS / LANES / WAVES: logits bit for bit,
/// ids equal, weights within a few ulps (the softmax sums in another
/// order). Launched three times on fresh inputs: the block count must reset
/// itself to 0.
template <int ROWS, int LANES, int WAVES, int KIND>
void checkRouterFused(int e, int k, int topk, bool renorm) {
  constexpr int G = 128;
  const int rowsPerBlock = ROWS * (32 / LANES) * WAVES;
  const int blocks = (e + rowsPerBlock - 1) / rowsPerBlock;
  DeviceBuffer<uint32_t> done(std::vector<uint32_t>{0u});
  for (int round = 0; round < 3; ++round) {
    std::vector<uint16_t> x = randomBf16(k, 1.0f);
    DeviceBuffer<uint16_t> dx(x);
    const DeviceMatrix router = randomDeviceMatrix(KIND, e, k, G);
    const void *w = router.w();
    const uint16_t *scales = router.scales();
    DeviceBuffer<float> logits(static_cast<size_t>(e)),
        lone(static_cast<size_t>(e));
    DeviceBuffer<int32_t> ids(static_cast<size_t>(topk)),
        loneIds(static_cast<size_t>(topk));
    DeviceBuffer<float> wts(static_cast<size_t>(topk)),
        loneWts(static_cast<size_t>(topk));
    fd::kernels::router_gemv_topk<ROWS, LANES, WAVES, G, false, KIND>
        <<<blocks, WAVES * 32>>>(dx.ptr, k, w, scales, nullptr, logits.ptr, e,
                                 topk, renorm ? 1 : 0, ids.ptr, wts.ptr,
                                 done.ptr);
    CHECK_LAUNCH();
    if (KIND == fd::kernels::kSegmentW4) {
      fd::kernels::gemv_w4a16<ROWS, LANES, 1, WAVES, G, false, false, false>
          <<<blocks, WAVES * 32>>>(static_cast<const int32_t *>(w), scales,
                                   nullptr, dx.ptr, lone.ptr, e, k);
    } else {
      fd::kernels::gemv_bf16<ROWS, LANES, 1, WAVES, false, false>
          <<<blocks, WAVES * 32>>>(static_cast<const uint16_t *>(w), dx.ptr,
                                   lone.ptr, e, k);
    }
    CHECK_LAUNCH();
    fd::kernels::router_topk<256><<<1, 256>>>(lone.ptr, e, topk, renorm ? 1 : 0,
                                              loneIds.ptr, loneWts.ptr);
    CHECK_LAUNCH();
    std::vector<float> l = logits.read(), ll = lone.read();
    std::vector<int32_t> gi = ids.read(), li = loneIds.read();
    std::vector<float> gw = wts.read(), lw = loneWts.read();
    const bool logitsEqual =
        std::memcmp(l.data(), ll.data(), l.size() * sizeof(float)) == 0;
    const bool idsEqual = gi == li;
    const uint32_t count = done.read()[0];
    char what[200];
    std::snprintf(
        what, sizeof what,
        "router_gemv_topk<%d,%d,%d,%s> E=%d K=%d k=%d #%d (logits %s, "
        "ids %s, count %u)",
        ROWS, LANES, WAVES, KIND == 1 ? "w4" : "bf16", e, k, topk, round,
        logitsEqual ? "=" : "DIFFER", idsEqual ? "=" : "DIFFER", count);
    std::vector<double> ref(lw.begin(), lw.end());
    const bool ok = logitsEqual && idsEqual && count == 0;
    compareAll(
        what, ref,
        [&](size_t i) { return ok ? static_cast<double>(gw[i]) : NAN; }, 1e-5,
        1e-9);
  }
}

/// router_gemv_topk_glu (the router and the shared expert's gate/up in one
/// launch, fd-fuse-router-shared) against router_gemv_topk and
/// gemv_bf16_glu / gemv_w4a16_glu with the same ROWS / LANES / WAVES:
/// logits, ids, weights and the gate/up output bit for bit, every output
/// poisoned first, the block count back at 0. Three rounds on fresh inputs;
/// the last with the RMSNorm prologue (x from the float row, published by
/// block 0) against rms_norm + the same two launches.
template <int ROWS, int LANES, int WAVES, int KIND, int SHARED>
void checkRouterSharedFused(int e, int n, int k, int topk) {
  constexpr int G = 128;
  constexpr int kNorm = fd::kernels::kNormZeroCentered, kNormK = 2048;
  const int rowsPerBlock = ROWS * (32 / LANES) * WAVES;
  const int routerBlocks = (e + rowsPerBlock - 1) / rowsPerBlock;
  const int gluBlocks = (n + rowsPerBlock - 1) / rowsPerBlock;
  DeviceBuffer<uint32_t> done(std::vector<uint32_t>{0u}),
      loneDone(std::vector<uint32_t>{0u});
  for (int round = 0; round < 3; ++round) {
    const bool norm = round == 2 && k == kNormK;
    std::vector<uint16_t> xv = randomBf16(k, 1.0f);
    DeviceBuffer<uint16_t> x(xv), published(static_cast<size_t>(k));
    DeviceBuffer<float> h(randomF(k, 3.0f));
    DeviceBuffer<uint16_t> normW(randomBf16(k, 0.2f));
    const float eps = 1e-6f;
    if (norm) { // the unfused launches read rms_norm's row
      fd::kernels::rms_norm<256, true, float, uint16_t>
          <<<1, 256>>>(h.ptr, normW.ptr, x.ptr, k, eps);
      CHECK_LAUNCH();
    }
    DeviceMatrix router = randomDeviceMatrix(KIND, e, k, G),
                 gate = randomDeviceMatrix(SHARED, n, k, G),
                 up = randomDeviceMatrix(SHARED, n, k, G);
    DeviceBuffer<float> logits(static_cast<size_t>(e)),
        loneLogits(static_cast<size_t>(e));
    DeviceBuffer<int32_t> ids(static_cast<size_t>(topk)),
        loneIds(static_cast<size_t>(topk));
    DeviceBuffer<float> wts(static_cast<size_t>(topk)),
        loneWts(static_cast<size_t>(topk));
    DeviceBuffer<uint16_t> y(static_cast<size_t>(n)),
        loneY(static_cast<size_t>(n));
    fd::kernels::router_gemv_topk<ROWS, LANES, WAVES, G, false, KIND>
        <<<routerBlocks, WAVES * 32>>>(x.ptr, k, router.w(), router.scales(),
                                       nullptr, loneLogits.ptr, e, topk, 1,
                                       loneIds.ptr, loneWts.ptr, loneDone.ptr);
    CHECK_LAUNCH();
    if (SHARED == fd::kernels::kSegmentW4) {
      fd::kernels::gemv_w4a16_glu<ROWS, LANES, WAVES, G, false>
          <<<gluBlocks, WAVES * 32>>>(
              static_cast<const int32_t *>(gate.w()), gate.scales(), nullptr,
              static_cast<const int32_t *>(up.w()), up.scales(), nullptr, x.ptr,
              loneY.ptr, n, k);
    } else {
      fd::kernels::gemv_bf16_glu<ROWS, LANES, WAVES><<<gluBlocks, WAVES * 32>>>(
          static_cast<const uint16_t *>(gate.w()),
          static_cast<const uint16_t *>(up.w()), x.ptr, loneY.ptr, n, k);
    }
    CHECK_LAUNCH();
    if (norm) {
      fd::kernels::router_gemv_topk_glu<ROWS, LANES, WAVES, G, false, KIND,
                                        SHARED, kNorm, kNormK>
          <<<routerBlocks + gluBlocks, WAVES * 32>>>(
              nullptr, k, router.w(), router.scales(), nullptr, logits.ptr, e,
              topk, 1, ids.ptr, wts.ptr, done.ptr, gate.w(), gate.scales(),
              nullptr, up.w(), up.scales(), nullptr, y.ptr, n, h.ptr, normW.ptr,
              published.ptr, eps);
    } else {
      fd::kernels::router_gemv_topk_glu<ROWS, LANES, WAVES, G, false, KIND,
                                        SHARED>
          <<<routerBlocks + gluBlocks, WAVES * 32>>>(
              x.ptr, k, router.w(), router.scales(), nullptr, logits.ptr, e,
              topk, 1, ids.ptr, wts.ptr, done.ptr, gate.w(), gate.scales(),
              nullptr, up.w(), up.scales(), nullptr, y.ptr, n);
    }
    CHECK_LAUNCH();
    const uint32_t count = done.read()[0];
    char what[200];
    std::snprintf(what, sizeof what,
                  "router_gemv_topk_glu<%d,%d,%d,%s,%s> E=%d N=%d K=%d k=%d "
                  "#%d%s (count %u)",
                  ROWS, LANES, WAVES, KIND == 1 ? "w4" : "bf16",
                  SHARED == 1 ? "w4" : "bf16", e, n, k, topk, round,
                  norm ? " + norm prologue" : "", count);
    reportExact(what, sameBits(logits, loneLogits) && sameBits(ids, loneIds) &&
                          sameBits(wts, loneWts) && sameBits(y, loneY) &&
                          count == 0 && (!norm || sameBits(published, x)));
  }
}

/// moe_down_combine (routed experts' down projections, the shared expert's,
/// the gate and the weighted sum into the residual in one launch) against
/// the unfused chain on the GPU — gemv_w4a16_experts, the shared expert's
/// GEMV, the gate's one-row gemv_bf16, moe_combine — and against a double
/// reference; gemv_gated (the shared expert with its gate) likewise. The
/// tolerance per element is fp32 rounding of each product sum:
/// 2e-5 x (sum_s |w_s| sum_k |W x| + g sum_k |Ws xs| + |base|).
template <int ROWS, int LANES, int WAVES, int SHARED>
void checkMoeDownFused(int e, int slots, int n, int k, int h, bool gateDot) {
  constexpr int G = 128;
  constexpr double kRel = 2e-5;
  std::vector<int32_t> allQ;
  std::vector<uint16_t> allS;
  std::vector<std::vector<float>> w(e);
  for (int ex = 0; ex < e; ++ex) {
    RandomW4 rw = randomW4(n, k, G, false);
    allQ.insert(allQ.end(), rw.packed.qweight.begin(), rw.packed.qweight.end());
    allS.insert(allS.end(), rw.packed.scales.begin(), rw.packed.scales.end());
    w[ex] = std::move(rw.w);
  }
  std::vector<int32_t> ids(e);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  ids.resize(slots);
  std::vector<float> routeW = randomF(slots, 0.3f), base = randomF(n, 3.0f);
  std::vector<uint16_t> x = randomBf16(static_cast<size_t>(slots) * k, 1.0f),
                        sx = randomBf16(k, 1.0f), gx = randomBf16(h, 1.0f),
                        gw = randomBf16(h, 1.0f / std::sqrt(float(h)));
  // The shared expert: [n][k], bf16 or w4.
  std::vector<float> sw;
  std::unique_ptr<DeviceBuffer<uint16_t>> swb, ssb;
  std::unique_ptr<DeviceBuffer<int32_t>> sqb;
  if (SHARED == fd::kernels::kSegmentW4) {
    RandomW4 rw = randomW4(n, k, G, false);
    sqb = std::make_unique<DeviceBuffer<int32_t>>(rw.packed.qweight);
    ssb = std::make_unique<DeviceBuffer<uint16_t>>(rw.packed.scales);
    sw = std::move(rw.w);
  } else {
    std::vector<uint16_t> b =
        randomBf16(static_cast<size_t>(n) * k, 1.0f / std::sqrt(float(k)));
    sw.resize(b.size());
    for (size_t i = 0; i < b.size(); ++i) {
      sw[i] = fromBf16(b[i]);
    }
    swb = std::make_unique<DeviceBuffer<uint16_t>>(b);
  }
  const void *sharedW = SHARED == 1 ? static_cast<const void *>(sqb->ptr)
                                    : static_cast<const void *>(swb->ptr);
  const uint16_t *sharedS = SHARED == 1 ? ssb->ptr : nullptr;
  // Double reference.
  double dot = 0;
  for (int i = 0; i < h; ++i) {
    dot += static_cast<double>(fromBf16(gw[i])) * fromBf16(gx[i]);
  }
  const double g = sigmoidD(dot);
  std::vector<double> ref(n), tol(n), part(n), partAbs(n), sharedRef(n),
      sharedAbs(n);
  for (int j = 0; j < n; ++j) {
    ref[j] = base[j];
    tol[j] = std::fabs(base[j]);
  }
  for (int s = 0; s < slots; ++s) {
    matvecRef(w[ids[s]].data(), x.data() + static_cast<size_t>(s) * k, n, k,
              part.data(), partAbs.data());
    for (int j = 0; j < n; ++j) {
      ref[j] += routeW[s] * part[j];
      tol[j] += std::fabs(routeW[s]) * partAbs[j];
    }
  }
  matvecRef(sw.data(), sx.data(), n, k, sharedRef.data(), sharedAbs.data());
  for (int j = 0; j < n; ++j) {
    ref[j] += g * sharedRef[j];
    tol[j] = kRel * (tol[j] + g * sharedAbs[j]) + 1e-30;
  }

  DeviceBuffer<int32_t> dq(allQ), di(ids);
  DeviceBuffer<uint16_t> ds(allS), dx(x), dsx(sx), dgx(gx), dgw(gw);
  DeviceBuffer<float> dr(routeW), fused(base), chain(base);
  DeviceBuffer<float> dgl(static_cast<size_t>(1));
  const int rowsPerBlock = ROWS * (32 / LANES) * WAVES;
  const int blocks = (n + rowsPerBlock - 1) / rowsPerBlock;
  // moe_down_combine's waves split the experts: a block owns a wave's rows.
  const int fusedBlocks = (n + ROWS * (32 / LANES) - 1) / (ROWS * (32 / LANES));
  // The unfused chain (the gate as a logit when the fused launch takes it
  // as a logit too).
  DeviceBuffer<float> de(static_cast<size_t>(slots) * n),
      dsd(static_cast<size_t>(n));
  fd::kernels::gemv_w4a16_experts<ROWS, LANES, WAVES, G, false, false>
      <<<dim3(blocks, slots), WAVES * 32>>>(dq.ptr, ds.ptr, nullptr, di.ptr,
                                            dx.ptr, k, de.ptr, n, k);
  CHECK_LAUNCH();
  if (SHARED == fd::kernels::kSegmentW4) {
    fd::kernels::gemv_w4a16<ROWS, LANES, 1, WAVES, G, false, false, false>
        <<<blocks, WAVES * 32>>>(sqb->ptr, sharedS, nullptr, dsx.ptr, dsd.ptr,
                                 n, k);
  } else {
    fd::kernels::gemv_bf16<ROWS, LANES, 1, WAVES, false, false>
        <<<blocks, WAVES * 32>>>(swb->ptr, dsx.ptr, dsd.ptr, n, k);
  }
  CHECK_LAUNCH();
  fd::kernels::gemv_bf16<1, 32, 1, 2, false, false>
      <<<1, 64>>>(dgw.ptr, dgx.ptr, dgl.ptr, 1, h);
  CHECK_LAUNCH();
  fd::kernels::moe_combine<256><<<(n + 255) / 256, 256>>>(
      chain.ptr, chain.ptr, de.ptr, dr.ptr, slots, dsd.ptr, dgl.ptr, n);
  CHECK_LAUNCH();
  fd::kernels::moe_down_combine<ROWS, LANES, WAVES, G, false, SHARED>
      <<<fusedBlocks, WAVES * 32>>>(
          fused.ptr, fused.ptr, dq.ptr, ds.ptr, nullptr, di.ptr, dr.ptr, dx.ptr,
          slots, k, sharedW, sharedS, nullptr, dsx.ptr, k,
          gateDot ? nullptr : dgl.ptr, gateDot ? dgw.ptr : nullptr,
          gateDot ? dgx.ptr : nullptr, h, n);
  CHECK_LAUNCH();
  std::vector<float> f = fused.read(), c = chain.read();
  auto compare = [&](const char *against, const std::vector<double> &r,
                     const std::vector<float> &got) {
    double worst = 0;
    size_t bad = 0;
    for (int j = 0; j < n; ++j) {
      if (!std::isfinite(got[j])) {
        ++bad;
        continue;
      }
      worst = std::max(worst, std::fabs(got[j] - r[j]) / tol[j]);
    }
    char what[200];
    std::snprintf(what, sizeof what,
                  "moe_down_combine<%d,%d,%d,shared %s> E=%d slots=%d N=%d "
                  "K=%d gate %s vs %s",
                  ROWS, LANES, WAVES, SHARED == 1 ? "w4" : "bf16", e, slots, n,
                  k, gateDot ? "dot" : "logit", against);
    report(what, worst, bad);
  };
  compare("double", ref, f);
  compare("unfused", std::vector<double>(c.begin(), c.end()), f);

  if (gateDot) {
    // gemv_gated: the shared expert's rows times sigmoid(gate . x).
    DeviceBuffer<float> gated(static_cast<size_t>(n));
    fd::kernels::gemv_gated<ROWS, LANES, WAVES, G, false, SHARED>
        <<<blocks, WAVES * 32>>>(dsx.ptr, k, sharedW, sharedS, nullptr,
                                 gated.ptr, n, dgw.ptr, dgx.ptr, h);
    CHECK_LAUNCH();
    std::vector<float> y = gated.read(), lone = dsd.read();
    const float gl = dgl.read()[0];
    std::vector<double> r(n), unf(n);
    for (int j = 0; j < n; ++j) {
      r[j] = g * sharedRef[j];
      unf[j] = sigmoidD(gl) * lone[j];
    }
    // fp32 GEMV error times g, plus the gate's own rounding through the
    // sigmoid (derivative <= 1/4 of a dot with sum |w x| ~ sqrt(h)).
    double worst = 0, worstUnf = 0;
    size_t bad = 0;
    for (int j = 0; j < n; ++j) {
      if (!std::isfinite(y[j])) {
        ++bad;
        continue;
      }
      const double t =
          kRel * (g * sharedAbs[j] + std::fabs(sharedRef[j])) + 1e-30;
      worst = std::max(worst, std::fabs(y[j] - r[j]) / t);
      worstUnf = std::max(worstUnf, std::fabs(y[j] - unf[j]) / t);
    }
    char what[200];
    std::snprintf(what, sizeof what,
                  "gemv_gated<%d,%d,%d,%s> N=%d K=%d gate K=%d vs double", ROWS,
                  LANES, WAVES, SHARED == 1 ? "w4" : "bf16", n, k, h);
    report(what, worst, bad);
    std::snprintf(what, sizeof what,
                  "gemv_gated<%d,%d,%d,%s> N=%d K=%d gate K=%d vs unfused",
                  ROWS, LANES, WAVES, SHARED == 1 ? "w4" : "bf16", n, k, h);
    report(what, worstUnf, bad);
  }
}

/// gdn_decode as the lowering instantiates it: a head split over `split`
/// blocks of dv / split columns (4 when dv % 128 == 0, 2 when dv % 64 == 0)
/// with 8 row groups, or whole heads of roundUp(dv, 32) columns by
/// min(4, 512 / columns) row groups; split = 1 at dv = 128 is the
/// whole-head path at full size. `partials` and `done` as the plan sizes
/// them (done zero before, and back to zero after, every launch).
void launchGdnDecode(int dv, int hv, int split, const float *mixed,
                     const float *z, const float *b, const float *a,
                     const float *aLog, const float *dt, const float *norm,
                     float *state, uint16_t *out, float *partials,
                     uint32_t *done, int hk, int dk) {
  if (dv == 128 && dk <= 128 && split == 4) {
    fd::kernels::gdn_decode<256, 128, 8, 4>
        <<<hv * 4, 256>>>(mixed, z, b, a, aLog, dt, norm, state, out, partials,
                          done, hk, hv, dk, dv, 1e-6f);
  } else if (dv == 128 && dk <= 128 && split == 1) {
    fd::kernels::gdn_decode<512, 128, 4>
        <<<hv, 512>>>(mixed, z, b, a, aLog, dt, norm, state, out, nullptr,
                      nullptr, hk, hv, dk, dv, 1e-6f);
  } else if (dv == 64 && dk <= 64 && split == 2) {
    fd::kernels::gdn_decode<256, 64, 8, 2>
        <<<hv * 2, 256>>>(mixed, z, b, a, aLog, dt, norm, state, out, partials,
                          done, hk, hv, dk, dv, 1e-6f);
  } else if (dv == 40 && dk <= 20 && split == 1) {
    fd::kernels::gdn_decode<256, 20, 4>
        <<<hv, 256>>>(mixed, z, b, a, aLog, dt, norm, state, out, nullptr,
                      nullptr, hk, hv, dk, dv, 1e-6f);
  } else if (dv <= 32 && dk <= 16 && split == 1) {
    fd::kernels::gdn_decode<128, 16, 4>
        <<<hv, 128>>>(mixed, z, b, a, aLog, dt, norm, state, out, nullptr,
                      nullptr, hk, hv, dk, dv, 1e-6f);
  } else {
    std::fprintf(stderr,
                 "launchGdnDecode: no instance for dk=%d dv=%d split=%d\n", dk,
                 dv, split);
    std::exit(2);
  }
}

/// Gated DeltaNet over `tokens` decode steps (conv and recurrent state carried
/// on the device) against fd-ref's recurrence in double.
void checkGdn(int hk, int hv, int dk, int dv, int kernel, int tokens,
              int split = 1) {
  const int c = 2 * hk * dk + hv * dv;
  DeviceBuffer<float> dpartials(static_cast<size_t>(hv) * (dv + split));
  DeviceBuffer<uint32_t> ddone(static_cast<size_t>(hv));
  CHECK(cudaMemset(ddone.ptr, 0, hv * sizeof(uint32_t)));
  size_t doneLeft = 0;
  std::vector<uint16_t> convW =
      randomBf16(static_cast<size_t>(c) * kernel, 0.5f);
  std::vector<float> aLog(hv), dtBias = randomF(hv, 0.1f), normW(dv);
  std::uniform_real_distribution<float> u(1.0f, 16.0f);
  for (auto &v : aLog) {
    v = std::log(u(rng));
  }
  for (auto &v : normW) {
    v = 1.0f + 0.05f * randomF(1, 1.0f)[0];
  }
  DeviceBuffer<uint16_t> dconv(convW);
  DeviceBuffer<float> daLog(aLog), ddt(dtBias), dnorm(normW);
  DeviceBuffer<float> dstate(
      std::vector<float>(static_cast<size_t>(hv) * dk * dv, 0.0f));
  DeviceBuffer<float> dconvState(
      std::vector<float>(static_cast<size_t>(kernel - 1) * c, 0.0f));
  std::vector<double> S(static_cast<size_t>(hv) * dk * dv, 0.0),
      window(static_cast<size_t>(kernel - 1) * c, 0.0);
  double worst = 0;
  size_t bad = 0;
  for (int t = 0; t < tokens; ++t) {
    std::vector<float> qkv = randomF(c, 1.0f),
                       z = randomF(static_cast<size_t>(hv) * dv, 1.0f),
                       b = randomF(hv, 1.0f), a = randomF(hv, 1.0f);
    DeviceBuffer<float> dqkv(qkv), dz(z), db(b), da(a),
        dmixed(static_cast<size_t>(c));
    DeviceBuffer<uint16_t> dout(static_cast<size_t>(hv) * dv);
    fd::kernels::gdn_conv<256><<<(c + 255) / 256, 256>>>(
        dqkv.ptr, dconv.ptr, dconvState.ptr, dmixed.ptr, c, kernel);
    CHECK_LAUNCH();
    launchGdnDecode(dv, hv, split, dmixed.ptr, dz.ptr, db.ptr, da.ptr,
                    daLog.ptr, ddt.ptr, dnorm.ptr, dstate.ptr, dout.ptr,
                    dpartials.ptr, ddone.ptr, hk, dk);
    CHECK_LAUNCH();
    for (uint32_t d : ddone.read()) {
      doneLeft += d != 0;
    }
    // Host reference.
    std::vector<double> mixed(c);
    for (int ch = 0; ch < c; ++ch) {
      double acc =
          fromBf16(convW[static_cast<size_t>(ch) * kernel + kernel - 1]) *
          qkv[ch];
      for (int j = 0; j < kernel - 1; ++j) {
        acc += fromBf16(convW[static_cast<size_t>(ch) * kernel + j]) *
               window[static_cast<size_t>(j) * c + ch];
      }
      mixed[ch] = siluD(acc);
    }
    for (int j = 0; j + 1 < kernel - 1; ++j) {
      for (int ch = 0; ch < c; ++ch) {
        window[static_cast<size_t>(j) * c + ch] =
            window[static_cast<size_t>(j + 1) * c + ch];
      }
    }
    for (int ch = 0; ch < c; ++ch) {
      window[static_cast<size_t>(kernel - 2) * c + ch] = qkv[ch];
    }
    std::vector<double> ref(static_cast<size_t>(hv) * dv);
    for (int h = 0; h < hv; ++h) {
      int kh = h / (hv / hk);
      std::vector<double> q(mixed.begin() + kh * dk,
                            mixed.begin() + (kh + 1) * dk),
          kv(mixed.begin() + hk * dk + kh * dk,
             mixed.begin() + hk * dk + (kh + 1) * dk);
      double qq = 0, kk = 0;
      for (int i = 0; i < dk; ++i) {
        qq += q[i] * q[i];
        kk += kv[i] * kv[i];
      }
      for (int i = 0; i < dk; ++i) {
        q[i] /= std::sqrt(qq + 1e-6) * std::sqrt(static_cast<double>(dk));
        kv[i] /= std::sqrt(kk + 1e-6);
      }
      double beta = sigmoidD(b[h]), x = static_cast<double>(a[h]) + dtBias[h];
      double decay = std::exp(-std::exp(static_cast<double>(aLog[h])) *
                              (x > 20 ? x : std::log1p(std::exp(x))));
      double *Sh = S.data() + static_cast<size_t>(h) * dk * dv;
      std::vector<double> o(dv, 0.0);
      for (int j = 0; j < dv; ++j) {
        double mem = 0;
        for (int i = 0; i < dk; ++i) {
          mem += Sh[static_cast<size_t>(i) * dv + j] * decay * kv[i];
        }
        double delta = (mixed[2 * hk * dk + h * dv + j] - mem) * beta;
        for (int i = 0; i < dk; ++i) {
          double &s = Sh[static_cast<size_t>(i) * dv + j];
          s = s * decay + kv[i] * delta;
          o[j] += s * q[i];
        }
      }
      double ss = 0;
      for (double v : o) {
        ss += v * v;
      }
      double inv = 1.0 / std::sqrt(ss / dv + 1e-6);
      for (int j = 0; j < dv; ++j) {
        ref[static_cast<size_t>(h) * dv + j] =
            o[j] * inv * normW[j] * siluD(z[static_cast<size_t>(h) * dv + j]);
      }
    }
    std::vector<uint16_t> out = dout.read();
    for (size_t i = 0; i < ref.size(); ++i) {
      double g = fromBf16(out[i]);
      if (!std::isfinite(g)) {
        ++bad;
        continue;
      }
      // One bf16 rounding of the output, plus fp32 recurrence error.
      worst = std::max(worst, std::fabs(g - ref[i]) /
                                  (std::ldexp(std::fabs(ref[i]), -8) + 1e-4));
    }
  }
  std::vector<float> state = dstate.read();
  double sWorst = 0;
  for (size_t i = 0; i < S.size(); ++i) {
    sWorst = std::max(sWorst, std::fabs(state[i] - S[i]) /
                                  (1e-5 * std::fabs(S[i]) + 1e-6));
  }
  char what[160];
  std::snprintf(what, sizeof what,
                "gdn_conv + gdn_decode<SPLIT %d> hk=%d hv=%d dk=%d dv=%d "
                "kernel=%d, %d tokens (out; done counts left set: %zu)",
                split, hk, hv, dk, dv, kernel, tokens, doneLeft);
  report(what, worst, bad + doneLeft);
  std::snprintf(what, sizeof what,
                "gdn_decode recurrent state after %d tokens (fp32, 1e-5 rel)",
                tokens);
  report(what, sWorst, 0);
}

/// gdn_decode with the conv folded in (CONV = 4, fd-fuse-gdn-conv: the
/// window in a ring of 4 slots at *position) against gdn_conv + gdn_decode
/// (a shift register of 3) on the same inputs for `tokens` positions: every
/// token's output bit for bit (outputs poisoned first), then the recurrent
/// states bit for bit and the ring's last 3 slots equal to the shift
/// register. Value heads 2h and 2h + 1 share key head h's q and k channels,
/// whose slot only the first writes.
template <int THREADS, int MAX_DK, int RG, int SPLIT>
void checkGdnConvFused(int hk, int hv, int dk, int dv, int tokens) {
  constexpr int kK = 4;
  const int c = 2 * hk * dk + hv * dv;
  DeviceBuffer<float> partials(static_cast<size_t>(hv) * (dv + SPLIT)),
      fusedPartials(static_cast<size_t>(hv) * (dv + SPLIT));
  DeviceBuffer<uint32_t> done(std::vector<uint32_t>(hv, 0u)),
      fusedDone(std::vector<uint32_t>(hv, 0u));
  std::vector<float> aLog(hv), normW(dv);
  std::uniform_real_distribution<float> u(1.0f, 16.0f);
  for (auto &v : aLog) {
    v = std::log(u(rng));
  }
  for (auto &v : normW) {
    v = 1.0f + 0.05f * randomF(1, 1.0f)[0];
  }
  DeviceBuffer<uint16_t> convW(randomBf16(static_cast<size_t>(c) * kK, 0.5f));
  DeviceBuffer<float> daLog(aLog), ddt(randomF(hv, 0.1f)), dnorm(normW);
  const std::vector<float> zeroS(static_cast<size_t>(hv) * dk * dv, 0.0f);
  DeviceBuffer<float> state(zeroS), fusedState(zeroS);
  DeviceBuffer<float> shift(
      std::vector<float>(static_cast<size_t>(kK - 1) * c, 0.0f)),
      ring(std::vector<float>(static_cast<size_t>(kK) * c, 0.0f));
  bool outsEqual = true;
  for (int t = 0; t < tokens; ++t) {
    DeviceBuffer<float> qkv(randomF(c, 1.0f)),
        z(randomF(static_cast<size_t>(hv) * dv, 1.0f)), b(randomF(hv, 1.0f)),
        a(randomF(hv, 1.0f)), mixed(static_cast<size_t>(c));
    DeviceBuffer<int32_t> position(std::vector<int32_t>{t});
    DeviceBuffer<uint16_t> out(static_cast<size_t>(hv) * dv),
        fusedOut(static_cast<size_t>(hv) * dv);
    fd::kernels::gdn_conv<256><<<(c + 255) / 256, 256>>>(
        qkv.ptr, convW.ptr, shift.ptr, mixed.ptr, c, kK);
    CHECK_LAUNCH();
    fd::kernels::gdn_decode<THREADS, MAX_DK, RG, SPLIT>
        <<<hv * SPLIT, THREADS>>>(
            mixed.ptr, z.ptr, b.ptr, a.ptr, daLog.ptr, ddt.ptr, dnorm.ptr,
            state.ptr, out.ptr, partials.ptr, done.ptr, hk, hv, dk, dv, 1e-6f);
    CHECK_LAUNCH();
    fd::kernels::gdn_decode<THREADS, MAX_DK, RG, SPLIT, kK>
        <<<hv * SPLIT, THREADS>>>(
            qkv.ptr, z.ptr, b.ptr, a.ptr, daLog.ptr, ddt.ptr, dnorm.ptr,
            fusedState.ptr, fusedOut.ptr, fusedPartials.ptr, fusedDone.ptr, hk,
            hv, dk, dv, 1e-6f, convW.ptr, position.ptr, ring.ptr);
    CHECK_LAUNCH();
    outsEqual = outsEqual && sameBits(out, fusedOut);
  }
  // The ring's slots of positions tokens-3 .. tokens-1 hold the shift
  // register's 3 rows.
  const std::vector<float> sh = shift.read(), rg = ring.read();
  bool windowEqual = true;
  for (int j = 0; j < kK - 1; ++j) {
    const int p = tokens - (kK - 1) + j;
    if (p < 0) {
      continue;
    }
    windowEqual =
        windowEqual && std::memcmp(sh.data() + static_cast<size_t>(j) * c,
                                   rg.data() + static_cast<size_t>(p % kK) * c,
                                   c * sizeof(float)) == 0;
  }
  const std::vector<uint32_t> d = fusedDone.read();
  const bool countsZero =
      std::all_of(d.begin(), d.end(), [](uint32_t v) { return v == 0; });
  char what[200];
  std::snprintf(what, sizeof what,
                "gdn_decode<SPLIT %d, CONV 4> hk=%d hv=%d dk=%d dv=%d, %d "
                "tokens (out %s, state %s, window %s)",
                SPLIT, hk, hv, dk, dv, tokens, outsEqual ? "=" : "DIFFER",
                sameBits(state, fusedState) ? "=" : "DIFFER",
                windowEqual ? "=" : "DIFFER");
  reportExact(what, outsEqual && sameBits(state, fusedState) && windowEqual &&
                        countsZero);
}

/// One decode step's random attention inputs, on the host and the device:
/// the q rows ([query | gate] per head when gated: qStride), the token's key
/// and value rows, and its position.
struct AttentionStepInputs {
  std::vector<float> q, k, v;
  DeviceBuffer<float> dq, dk, dv;
  DeviceBuffer<int32_t> dpos;
  AttentionStepInputs(int hq, int hkv, int d, int qStride, int pos)
      : q(randomF(static_cast<size_t>(hq) * qStride, 1.0f)),
        k(randomF(static_cast<size_t>(hkv) * d, 1.0f)),
        v(randomF(static_cast<size_t>(hkv) * d, 1.0f)), dq(q), dk(k), dv(v),
        dpos(std::vector<int32_t>{pos}) {}
};

/// The unfused attention step the plan launches by default: kv_append
/// (the key's norm and RoPE, both rows into the caches at *pos), then
/// attention_decode over positions 0..*pos; each launch checked.
template <int D, int GROUP, int SPLITS>
void appendThenAttend(const float *q, const float *k, const float *v,
                      const uint16_t *qNorm, const uint16_t *kNorm,
                      const int32_t *pos, float *kCache, float *vCache,
                      float *partials, uint32_t *done, uint16_t *out, int hkv,
                      int qPerKv, int rotary, bool gate, bool zc,
                      int minChunk) {
  const float theta = 1e7f, eps = 1e-6f;
  fd::kernels::kv_append<128, D><<<(hkv + 3) / 4, 128>>>(
      k, v, kNorm, zc, eps, rotary, theta, pos, kCache, vCache, hkv, D);
  CHECK_LAUNCH();
  fd::kernels::attention_decode<256, D, GROUP, SPLITS>
      <<<dim3(hkv * qPerKv / GROUP, SPLITS), 256>>>(
          q, qNorm, zc, eps, rotary, theta, pos, kCache, vCache, partials, done,
          out, hkv, qPerKv, gate, minChunk);
  CHECK_LAUNCH();
}

/// KV append + attention decode (GROUP of the qPerKv query heads per KV
/// head in a block) for `tokens` positions after `prefilled`
/// ones written straight into the cache (a long context without a step per
/// position), each step checked; the finished-block counts must be back to
/// 0 after every launch.
template <int D, int GROUP, int SPLITS>
void checkAttention(int hkv, int qPerKv, int rotary, bool gate, bool zc,
                    int tokens, int prefilled = 0, int minChunk = 8) {
  const int hq = hkv * qPerKv, d = D, groups = hq / GROUP;
  const int maxCtx = prefilled + tokens;
  const float theta = 1e7f, eps = 1e-6f;
  std::vector<uint16_t> qNorm = randomBf16(d, 0.1f),
                        kNorm = randomBf16(d, 0.1f);
  DeviceBuffer<uint16_t> dqn(qNorm), dkn(kNorm);
  std::vector<float> pre = randomF(static_cast<size_t>(prefilled) * hkv * d,
                                   1.0f),
                     preV = randomF(static_cast<size_t>(prefilled) * hkv * d,
                                    1.0f);
  DeviceBuffer<float> dk(static_cast<size_t>(maxCtx) * hkv * d),
      dv(static_cast<size_t>(maxCtx) * hkv * d),
      dpartials(static_cast<size_t>(hq) * SPLITS * (d + 2));
  DeviceBuffer<uint32_t> ddone(static_cast<size_t>(groups));
  CHECK(cudaMemset(ddone.ptr, 0, groups * sizeof(uint32_t)));
  if (prefilled > 0) {
    CHECK(cudaMemcpy(dk.ptr, pre.data(), pre.size() * sizeof(float),
                     cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(dv.ptr, preV.data(), preV.size() * sizeof(float),
                     cudaMemcpyHostToDevice));
  }
  std::vector<double> keys(pre.begin(), pre.end()),
      values(preV.begin(), preV.end()); // [pos][hkv][d]
  auto normRope = [&](std::vector<double> x, const std::vector<uint16_t> &w,
                      int pos) {
    double ss = 0;
    for (double v : x) {
      ss += v * v;
    }
    double inv = 1.0 / std::sqrt(ss / d + eps);
    for (int i = 0; i < d; ++i) {
      double s = fromBf16(w[i]);
      x[i] = x[i] * inv * (zc ? 1.0 + s : s);
    }
    for (int i = 0; i < rotary / 2; ++i) {
      float invFreq = 1.0f / std::pow(theta, static_cast<float>(2 * i) /
                                                 static_cast<float>(rotary));
      float angle = static_cast<float>(pos) * invFreq;
      double c = std::cos(angle), s = std::sin(angle), x1 = x[i],
             x2 = x[i + rotary / 2];
      x[i] = x1 * c - x2 * s;
      x[i + rotary / 2] = x2 * c + x1 * s;
    }
    return x;
  };
  double worst = 0;
  size_t bad = 0;
  int doneLeft = 0;
  const int qStride = gate ? 2 * d : d;
  for (int pos = prefilled; pos < maxCtx; ++pos) {
    const AttentionStepInputs in(hq, hkv, d, qStride, pos);
    const std::vector<float> &q = in.q, &k = in.k, &v = in.v;
    DeviceBuffer<uint16_t> dout(static_cast<size_t>(hq) * d);
    appendThenAttend<D, GROUP, SPLITS>(
        in.dq.ptr, in.dk.ptr, in.dv.ptr, dqn.ptr, dkn.ptr, in.dpos.ptr, dk.ptr,
        dv.ptr, dpartials.ptr, ddone.ptr, dout.ptr, hkv, qPerKv, rotary, gate,
        zc, minChunk);
    for (uint32_t c : ddone.read()) {
      doneLeft += c != 0;
    }
    for (int h = 0; h < hkv; ++h) {
      std::vector<double> kh(k.begin() + h * d, k.begin() + (h + 1) * d);
      kh = normRope(kh, kNorm, pos);
      keys.insert(keys.end(), kh.begin(), kh.end());
      values.insert(values.end(), v.begin() + h * d, v.begin() + (h + 1) * d);
    }
    std::vector<uint16_t> out = dout.read();
    for (int h = 0; h < hq; ++h) {
      int kvh = h / qPerKv;
      std::vector<double> qh(q.begin() + static_cast<size_t>(h) * qStride,
                             q.begin() + static_cast<size_t>(h) * qStride + d);
      qh = normRope(qh, qNorm, pos);
      std::vector<double> sc(pos + 1);
      double m = -INFINITY, sum = 0;
      for (int t = 0; t <= pos; ++t) {
        double s = 0;
        for (int i = 0; i < d; ++i) {
          s += qh[i] * keys[(static_cast<size_t>(t) * hkv + kvh) * d + i];
        }
        sc[t] = s / std::sqrt(static_cast<double>(d));
        m = std::max(m, sc[t]);
      }
      for (double &s : sc) {
        s = std::exp(s - m);
        sum += s;
      }
      for (int j = 0; j < d; ++j) {
        double o = 0;
        for (int t = 0; t <= pos; ++t) {
          o += sc[t] * values[(static_cast<size_t>(t) * hkv + kvh) * d + j];
        }
        o /= sum;
        if (gate) {
          o *= sigmoidD(q[static_cast<size_t>(h) * qStride + d + j]);
        }
        double g = fromBf16(out[static_cast<size_t>(h) * d + j]);
        if (!std::isfinite(g)) {
          ++bad;
          continue;
        }
        worst = std::max(worst, std::fabs(g - o) /
                                    (std::ldexp(std::fabs(o), -8) + 1e-4));
      }
    }
  }
  char what[200];
  std::snprintf(what, sizeof what,
                "kv_append + attention_decode hq=%d hkv=%d d=%d rot=%d "
                "gate=%d group=%d splits=%d min chunk %d, positions %d..%d",
                hq, hkv, d, rotary, gate, GROUP, SPLITS, minChunk, prefilled,
                maxCtx - 1);
  report(what, worst, bad);
  std::snprintf(what, sizeof what,
                "attention_decode finished-block counts back at 0 (%d left)",
                doneLeft);
  reportExact(what, doneLeft == 0);
}

/// attention_decode with the append folded in (APPEND, fd-fuse-kv-append)
/// against kv_append + attention_decode on the same inputs, `tokens` steps
/// after `prefilled` positions: each step's output (poisoned first), and at
/// the end both caches, bit for bit; the finished-block counts back at 0.
template <int D, int GROUP, int SPLITS>
void checkAttentionAppend(int hkv, int qPerKv, int rotary, bool gate, bool zc,
                          int tokens, int prefilled = 0, int minChunk = 8) {
  const int hq = hkv * qPerKv, d = D, groups = hq / GROUP;
  const int maxCtx = prefilled + tokens;
  const size_t cacheSize = static_cast<size_t>(maxCtx) * hkv * d;
  const float theta = 1e7f, eps = 1e-6f;
  std::vector<uint16_t> qNorm = randomBf16(d, 0.1f),
                        kNorm = randomBf16(d, 0.1f);
  DeviceBuffer<uint16_t> dqn(qNorm), dkn(kNorm);
  // Positions past the prefilled ones hold random values too: a block
  // that read the position it appends would see them.
  std::vector<float> k0 = randomF(cacheSize, 1.0f),
                     v0 = randomF(cacheSize, 1.0f);
  DeviceBuffer<float> kA(k0), vA(v0), kB(k0), vB(v0),
      pA(static_cast<size_t>(hq) * SPLITS * (d + 2)),
      pB(static_cast<size_t>(hq) * SPLITS * (d + 2));
  DeviceBuffer<uint32_t> doneA(static_cast<size_t>(groups)),
      doneB(static_cast<size_t>(groups));
  CHECK(cudaMemset(doneA.ptr, 0, groups * sizeof(uint32_t)));
  CHECK(cudaMemset(doneB.ptr, 0, groups * sizeof(uint32_t)));
  const int qStride = gate ? 2 * d : d;
  bool outsEqual = true, finite = true;
  int doneLeft = 0;
  for (int pos = prefilled; pos < maxCtx; ++pos) {
    const AttentionStepInputs in(hq, hkv, d, qStride, pos);
    DeviceBuffer<uint16_t> outA(static_cast<size_t>(hq) * d),
        outB(static_cast<size_t>(hq) * d);
    appendThenAttend<D, GROUP, SPLITS>(
        in.dq.ptr, in.dk.ptr, in.dv.ptr, dqn.ptr, dkn.ptr, in.dpos.ptr, kA.ptr,
        vA.ptr, pA.ptr, doneA.ptr, outA.ptr, hkv, qPerKv, rotary, gate, zc,
        minChunk);
    fd::kernels::attention_decode<256, D, GROUP, SPLITS, 1>
        <<<dim3(groups, SPLITS), 256>>>(
            in.dq.ptr, dqn.ptr, zc, eps, rotary, theta, in.dpos.ptr, kB.ptr,
            vB.ptr, pB.ptr, doneB.ptr, outB.ptr, hkv, qPerKv, gate, minChunk,
            in.dk.ptr, in.dv.ptr, dkn.ptr, kB.ptr, vB.ptr);
    CHECK_LAUNCH();
    for (uint32_t c : doneB.read()) {
      doneLeft += c != 0;
    }
    for (uint16_t o : outB.read()) {
      finite &= std::isfinite(fromBf16(o));
    }
    outsEqual &= sameBits(outA, outB);
  }
  char what[220];
  std::snprintf(what, sizeof what,
                "attention_decode<APPEND> = kv_append + attention_decode hq=%d "
                "hkv=%d d=%d group=%d splits=%d min chunk %d, positions "
                "%d..%d (out %s, caches %s)",
                hq, hkv, d, GROUP, SPLITS, minChunk, prefilled, maxCtx - 1,
                outsEqual ? "=" : "DIFFER",
                sameBits(kA, kB) && sameBits(vA, vB) ? "=" : "DIFFER");
  reportExact(what, finite && outsEqual && sameBits(kA, kB) &&
                        sameBits(vA, vB) && doneLeft == 0);
}

/// The router's inputs in float: rms_norm writing float, gemv_bf16 reading
/// float activations.
void checkFloatRouterPath(int e, int h) {
  std::vector<float> hs = randomF(h, 3.0f);
  std::vector<uint16_t> nw = randomBf16(h, 0.1f),
                        w = randomBf16(static_cast<size_t>(e) * h, 0.03f);
  DeviceBuffer<float> dh(hs), dx(static_cast<size_t>(h)),
      dy(static_cast<size_t>(e));
  DeviceBuffer<uint16_t> dnw(nw), dw(w);
  fd::kernels::rms_norm<256, true, float, float>
      <<<1, 256>>>(dh.ptr, dnw.ptr, dx.ptr, h, 1e-6f);
  CHECK_LAUNCH();
  fd::kernels::gemv_bf16<2, 32, 1, 4, false, false, float>
      <<<(e + 7) / 8, 128>>>(dw.ptr, dx.ptr, dy.ptr, e, h);
  CHECK_LAUNCH();
  double ss = 0;
  for (float v : hs) {
    ss += static_cast<double>(v) * v;
  }
  double inv = 1.0 / std::sqrt(ss / h + 1e-6);
  std::vector<double> x(h), ref(e), absSum(e);
  for (int i = 0; i < h; ++i) {
    x[i] = hs[i] * inv * (1.0 + fromBf16(nw[i]));
  }
  std::vector<float> xs = dx.read();
  char what[120];
  std::snprintf(what, sizeof what,
                "rms_norm<256, 1 + w, float, float> D=%d (float out)", h);
  compareAll(
      what, x, [&](size_t i) { return static_cast<double>(xs[i]); }, 1e-5,
      1e-7);
  for (int r = 0; r < e; ++r) {
    for (int i = 0; i < h; ++i) {
      double p = fromBf16(w[static_cast<size_t>(r) * h + i]) * x[i];
      ref[r] += p;
      absSum[r] += std::fabs(p);
    }
  }
  std::vector<float> y = dy.read();
  std::snprintf(what, sizeof what,
                "gemv_bf16<2, 1, 4, f32, float x> N=%d K=%d (router)", e, h);
  compareGemv<false>(what, ref, absSum, y.data(), y.size());
}

/// The kept set and its probabilities per the sampling rule, in double.
std::vector<double> keptDistribution(const std::vector<float> &logits,
                                     float temperature, int topK, float topP) {
  const int n = static_cast<int>(logits.size());
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return logits[a] > logits[b]; });
  int keep = topK > 0 && topK < n ? topK : n;
  while (keep < n && logits[order[keep]] == logits[order[keep - 1]]) {
    ++keep; // ties with the k-th stay
  }
  double mx = logits[order[0]], z = 0;
  std::vector<double> p(n, 0.0);
  for (int r = 0; r < keep; ++r) {
    p[order[r]] = std::exp((logits[order[r]] - mx) / temperature);
    z += p[order[r]];
  }
  double mass = 0;
  int cut = keep;
  for (int r = 0; r < keep; ++r) {
    p[order[r]] /= z;
  }
  if (topP < 1.0f) {
    for (int r = 0; r < keep; ++r) {
      mass += p[order[r]];
      if (mass >= topP) {
        cut = r + 1;
        break;
      }
    }
  }
  double kept = 0;
  for (int r = 0; r < n; ++r) {
    if (r >= cut) {
      p[order[r]] = 0;
    }
    kept += p[order[r]];
  }
  for (double &v : p) {
    v /= kept;
  }
  return p;
}

void checkSampling(int n, float temperature, int topK, float topP, int draws) {
  if (quick) {
    draws = 16;
  }
  std::vector<float> logits = randomF(n, 2.0f);
  std::vector<double> want = keptDistribution(logits, temperature, topK, topP);
  std::vector<int32_t> steps(draws);
  std::iota(steps.begin(), steps.end(), 0);
  DeviceBuffer<float> dl(logits);
  DeviceBuffer<int32_t> ds(steps), dout(static_cast<size_t>(draws));
  const uint64_t seed = rng();
  for (int i = 0; i < draws; ++i) {
    fd::kernels::sample_token<1024><<<1, 1024>>>(
        dl.ptr, n, temperature, topK, topP, seed, ds.ptr + i, dout.ptr + i);
  }
  CHECK_LAUNCH();
  std::vector<int32_t> got = dout.read();
  std::vector<double> freq(n, 0.0);
  size_t outside = 0;
  for (int32_t tok : got) {
    if (tok < 0 || tok >= n || want[tok] == 0.0) {
      ++outside;
      continue;
    }
    freq[tok] += 1.0 / draws;
  }
  // Frequencies within 5 standard errors of the kept distribution (a
  // uniform draw of 24 bits per token).
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    double se = std::sqrt(std::max(want[i] * (1 - want[i]), 1e-12) / draws);
    worst = std::max(worst, std::fabs(freq[i] - want[i]) / (5 * se + 1e-12));
  }
  if (quick) {
    worst = 0; // too few draws for frequencies; the kept set is still checked
  }
  // Reproducible: the same (seed, step) draws the same token.
  fd::kernels::sample_token<1024><<<1, 1024>>>(
      dl.ptr, n, temperature, topK, topP, seed, ds.ptr + 7, dout.ptr);
  CHECK_LAUNCH();
  bool same = dout.read()[0] == got[7];
  char what[160];
  std::snprintf(
      what, sizeof what,
      "sample_token<1024> V=%d T=%.2f top-k %d top-p %.2f, %d draws (%s)", n,
      temperature, topK, topP, draws,
      same ? "reproducible" : "NOT reproducible");
  report(what, same ? worst : 2.0, outside);
}

/// Greedy choice over n logits: the first index of the maximum when it is
/// tied across threads and within one thread's stride, NaNs never chosen,
/// and a row of -inf giving index 0.
void checkGreedySample(int n) {
  struct Case {
    const char *what;
    std::vector<std::pair<int, float>> set; // on top of random logits
    bool allNegInf;
    int expect;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Case cases[] = {
      {"tie across threads", {{n / 3, 50.0f}, {n / 2, 50.0f}}, false, n / 3},
      {"tie in one thread",
       {{n / 2 + 1024, 50.0f}, {n / 2, 50.0f}},
       false,
       n / 2},
      {"NaN first", {{1, nan}, {n - 1, 50.0f}}, false, n - 1},
      {"all -inf", {}, true, 0}};
  for (const Case &c : cases) {
    std::vector<float> logits = randomF(n, 2.0f);
    if (c.allNegInf) {
      std::fill(logits.begin(), logits.end(),
                -std::numeric_limits<float>::infinity());
    }
    for (const auto &[i, v] : c.set) {
      logits[i] = v;
    }
    std::vector<int32_t> step = {0};
    DeviceBuffer<float> dl(logits);
    DeviceBuffer<int32_t> ds(step), dout(static_cast<size_t>(1));
    fd::kernels::sample_token<1024>
        <<<1, 1024>>>(dl.ptr, n, 0.0f, 0, 1.0f, 1, ds.ptr, dout.ptr);
    CHECK_LAUNCH();
    const int got = dout.read()[0];
    char what[120];
    std::snprintf(what, sizeof what,
                  "sample_token<1024> greedy V=%d, %s (-> %d, got %d)", n,
                  c.what, c.expect, got);
    report(what, got == c.expect ? 0.0 : 2.0, 0);
  }
}

} // namespace

int main(int argc, char **argv) {
  uint64_t seed = std::random_device{}();
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--seed") {
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    }
  }
  for (int i = 1; i < argc; ++i) {
    quick |= std::string(argv[i]) == "--quick";
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("check-kernels: no CUDA device; skipped\n");
    return 77;
  }
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("check-kernels on %s, seed %llu\n", prop.name,
              static_cast<unsigned long long>(seed));
  rng.seed(seed);

  // Qwen3.5-35B-A3B shapes: in_proj_qkv, q_proj, out_proj/o_proj, expert
  // gate/up and down, shared expert; plus tails (N not a multiple of the
  // rows per block).
  checkW4<2, 32, 1, 4, 128, false, true>(8192, 2048);
  checkW4<4, 32, 1, 4, 128, false, false>(2048, 4096);
  checkW4<1, 32, 1, 8, 128, false, false, true>(2048, 4096); // o_proj += h
  checkW4<1, 32, 1, 8, 128, false, false>(512, 2048);
  checkW4<4, 8, 1, 2, 128, false, false>(512, 2048);
  checkW4<2, 32, 1, 4, 128, false, true>(2048, 512);
  checkW4<2, 16, 1, 4, 128, false, false, true>(2048, 512);
  checkW4<1, 16, 1, 8, 32, true, false>(2050, 512);
  checkW4<4, 32, 4, 2, 128, true, false>(4100, 2048);
  checkW4<2, 16, 4, 2, 128, true, false, true>(4100, 2048);
  checkW4<2, 32, 2, 4, 32, true, true>(1000, 1024);
  checkW4<1, 32, 3, 4, 64, false, false>(777, 512);
  checkW4<2, 8, 3, 4, 64, false, false>(777, 512);
  checkW4<1, 32, 1, 8, 32, true, false, true>(2050, 4096); // x-stationary, zp
  checkW4<2, 32, 1, 2, 128, false, false>(1000, 1024);
  checkW4<4, 32, 1, 8, 128, false, false>(8192, 2048); // 32 KB of partials
  checkW4XStationarySame<1, 8, 128, false, true>(2048, 4096); // out_proj +=
  checkW4XStationarySame<2, 8, 128, false, false>(8192, 2048);
  checkW4XStationarySame<1, 4, 32, true, true>(2050, 4096); // ragged N, zp
  checkW4XStationarySame<2, 2, 64, true, false>(1001, 1024);
  checkBf16<2, 32, 1, 4, false>(256, 2048);       // router
  checkBf16<4, 32, 1, 4, true>(512, 2048);        // shared expert gate/up
  checkBf16<1, 16, 1, 8, false, true>(2048, 512); // shared down += h
  checkBf16<1, 32, 1, 8, false>(32, 2048);        // in_proj_b/a
  checkBf16<1, 8, 1, 2, false>(32, 2048);
  checkBf16<4, 32, 4, 2, false>(2051, 512);
  checkBf16<2, 16, 4, 2, false, true>(2051, 512);
  checkBf16<2, 32, 1, 8, false>(248320, 2048);     // lm_head
  checkW8<1, 32, 1, 8, 32, false>(248320, 2048);   // lm_head int8:g32
  checkW8<2, 16, 1, 4, 2048, false>(248320, 2048); // per row
  checkW8<1, 8, 3, 2, 64, true>(1001, 512);        // ragged N, M=3, bf16 out
  checkRmsNorm<256, true>(4, 2048);
  checkRmsNorm<128, false>(3, 256);
  checkRmsNorm<64, true>(16, 128);
  checkNormPrologue<1, 2048>();
  checkNormPrologue<2, 2048>();
  checkNormPrologue<1, 64>();
  checkNormPrologue<1, 8192>(); // rows past kNormPrologueHeldChunks: read twice
  checkEmbed(248320, 2048, 5);
  checkArgmax(248320);
  checkArgmax(1000);
  checkExperts<32>(16, 8, 512, 2048, true); // gate/up: shared x
  checkExperts<16>(16, 8, 512, 2048, true);
  checkExperts<32>(16, 8, 2048, 512, false); // down: x per slot
  checkExperts<16>(16, 8, 2048, 512, false);
  checkExperts<8>(16, 8, 2050, 512, false);
  checkGluExperts<1, 32, 2>(16, 8, 512, 2048); // Qwen3.5 experts gate/up
  checkGluExperts<2, 16, 4>(16, 8, 520, 2048);
  checkGluExperts<2, 32, 8>(16, 8, 512, 2048); // x-stationary, 16 KB
  checkGluExperts<1, 32, 4>(16, 8, 520, 2048); // ragged N
  checkGluExperts<1, 32, 4>(16, 8, 256, 4096); // four chunks
  checkGluW4<1, 32, 2, 128, false>(512, 2048);
  checkGluW4<2, 8, 4, 32, true>(1030, 512);
  checkGluBf16<1, 32, 2>(512, 2048); // shared expert gate/up
  checkGluBf16<4, 16, 2>(515, 1024);
  // GDN in_proj qkv|z|b|a, attention q|k|v, router + shared-expert gate;
  // then ragged N, zero points, LANES 16.
  checkSegments<1, 32, 2, 128, false, 1, 1, 2, 2>({8192, 4096, 32, 32}, 2048);
  checkSegments<2, 32, 2, 128, false, 1, 1, 1>({8192, 512, 512}, 2048);
  checkSegments<1, 32, 2, 128, false, 2, 2>({256, 1}, 2048);
  checkSegments<2, 16, 4, 32, true, 2, 1, 2, 1>({77, 1030, 5, 259}, 512);
  // x-stationary w4 segments: in_proj's setting, ragged N with zero points.
  checkSegments<2, 32, 8, 128, false, 1, 1, 2, 2>({8192, 4096, 32, 32}, 2048);
  checkSegments<1, 32, 4, 32, true, 1, 2, 1>({2050, 40, 1030}, 4096);
  checkRouter(256, 8, true);
  checkRouter(8, 2, true);
  checkRouter(128, 8, false);
  checkMoeTail(8, 2048);
  // The fused MoE launches (fd-fuse-router, -shared-gate, -moe-combine) at
  // the 35B-A3B shapes, the most experts the fused top-k takes, w4 routers
  // and shared experts, ragged N.
  checkRouterFused<1, 32, 4, 2>(256, 2048, 8, true);
  checkRouterFused<2, 16, 2, 2>(512, 2048, 10, true);
  checkRouterFused<4, 8, 8, 1>(128, 2048, 8, false);
  checkRouterFused<1, 32, 2, 2>(8, 64, 2, true);
  checkRouterSharedFused<1, 32, 4, 2, 2>(256, 512, 2048, 8); // 35B-A3B
  checkRouterSharedFused<2, 16, 2, 1, 1>(128, 515, 2048, 8); // w4, ragged N
  checkRouterSharedFused<4, 8, 8, 2, 1>(256, 512, 2048, 8);
  checkRouterSharedFused<1, 32, 2, 2, 2>(8, 32, 64, 2); // tiny
  checkMoeDownFused<1, 16, 4, 2>(16, 8, 2048, 512, 2048, true);
  checkMoeDownFused<2, 16, 4, 2>(16, 8, 2048, 512, 2048, false);
  checkMoeDownFused<4, 8, 2, 1>(16, 8, 2050, 512, 2048, true);
  checkMoeDownFused<2, 32, 8, 1>(8, 2, 88, 128, 64, true);
  checkGdn(16, 32, 128, 128, 4, 3, 4); // Qwen3.5-35B-A3B, as lowered
  checkGdn(16, 32, 128, 128, 4, 3, 1); // the whole-head path at full size
  checkGdn(2, 4, 64, 64, 4, 3, 2);     // two blocks per head
  checkGdn(2, 4, 16, 16, 4, 5);        // tiny
  checkGdn(1, 2, 20, 40, 4, 4);        // ragged: rows and columns guarded
  // The conv folded into gdn_decode (fd-fuse-gdn-conv) at full size, whole
  // heads and split, past one turn of the ring; tiny and ragged.
  checkGdnConvFused<512, 128, 4, 1>(16, 32, 128, 128, 6);
  checkGdnConvFused<256, 128, 8, 4>(16, 32, 128, 128, 5);
  checkGdnConvFused<128, 16, 4, 1>(2, 4, 16, 16, 7);
  checkGdnConvFused<256, 20, 4, 1>(1, 2, 20, 40, 3);
  // Qwen3.5-35B-A3B (4 of 8 query heads per block): short contexts, a long
  // one over all 64 splits, and one with a partial last chunk; the tiny
  // model every step; Qwen3-MoE-style shapes.
  checkAttention<256, 4, 64>(2, 8, 64, true, true, 5);
  checkAttention<256, 4, 64>(2, 8, 64, true, true, 3, 500);
  checkAttention<256, 4, 64>(2, 8, 64, true, true, 2, 4094);
  checkAttention<256, 4, 64>(2, 8, 64, true, true, 1, 2099);
  // Fewer, longer splits at short contexts (compile-model
  // --attention-min-chunk), and a chunk longer than the context.
  checkAttention<256, 4, 64>(2, 8, 64, true, true, 3, 140, 32);
  checkAttention<256, 4, 64>(2, 8, 64, true, true, 3, 140, 64);
  checkAttention<256, 4, 64>(2, 8, 64, true, true, 2, 4094, 64);
  checkAttention<256, 4, 64>(2, 8, 64, true, true, 4, 0, 4096);
  checkAttention<256, 8, 16>(2, 8, 64, true, true, 2, 300); // whole group
  checkAttention<32, 2, 32>(2, 2, 8, true, true, 300);      // tiny
  checkAttention<16, 2, 4>(2, 2, 16, false, false, 7);
  checkAttention<128, 8, 64>(4, 8, 128, false, true, 2, 700); // Qwen3-30B
  // The append folded in: one chunk (no partials), several splits, a
  // whole group per block (wave 7 normalises q and then k), every KV
  // head's first group writing, long contexts and the tiny shapes.
  checkAttentionAppend<256, 4, 64>(2, 8, 64, true, true, 5);
  checkAttentionAppend<256, 4, 64>(2, 8, 64, true, true, 3, 500);
  checkAttentionAppend<256, 4, 64>(2, 8, 64, true, true, 2, 4094, 64);
  checkAttentionAppend<256, 4, 64>(2, 8, 64, true, true, 3, 140, 32);
  checkAttentionAppend<256, 8, 16>(2, 8, 64, true, true, 2, 300);
  checkAttentionAppend<32, 2, 32>(2, 2, 8, true, true, 40);
  checkAttentionAppend<16, 2, 4>(2, 2, 16, false, false, 7);
  checkAttentionAppend<128, 8, 64>(4, 8, 128, false, true, 2, 700);
  checkFloatRouterPath(256, 2048);
  // 24 links x 8 MiB of weights: more than the L2 of an H100 or H200.
  checkOverlapChain(2048, 24, quick ? 2 : 20);
  checkGreedySample(248320);
  checkSampling(64, 1.0f, 0, 1.0f, 20000);
  checkSampling(64, 0.7f, 10, 0.9f, 20000);
  checkSampling(2000, 1.3f, 0, 0.5f, 20000);
  checkSampling(248320, 0.8f, 50, 0.95f, 2000);
  std::printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
