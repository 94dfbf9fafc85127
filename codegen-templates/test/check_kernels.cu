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

#include "compiler/codegen/Repack.h"
#include "compiler/reference/Dequant.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

template <typename T> struct DeviceBuffer {
  T *ptr = nullptr;
  size_t count = 0;
  explicit DeviceBuffer(const std::vector<T> &host) : count(host.size()) {
    CHECK(cudaMalloc(&ptr, std::max<size_t>(1, count) * sizeof(T)));
    if (count) {
      CHECK(cudaMemcpy(ptr, host.data(), count * sizeof(T), cudaMemcpyHostToDevice));
    }
  }
  explicit DeviceBuffer(size_t n) : count(n) {
    CHECK(cudaMalloc(&ptr, std::max<size_t>(1, n) * sizeof(T)));
    poison();
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  /// 0xFF bytes: NaN as float and bf16, -1 as int: unwritten outputs show.
  void poison() { CHECK(cudaMemset(ptr, 0xFF, std::max<size_t>(1, count) * sizeof(T))); }
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
  std::printf("%-4s %-72s worst err/tol %.3f%s\n", ok ? "PASS" : "FAIL", what.c_str(),
              worstRatio, nonFinite ? " (non-finite or unwritten outputs)" : "");
  failures += !ok;
}

/// Compares GPU y [m][n] (float or bf16) with the double reference. The
/// tolerance per element: kRel * sum_k |w x| (fp32 accumulation of K
/// products in another order) plus, for bf16 outputs, half a bf16 ulp.
template <bool OUT_BF16>
void compareGemv(const std::string &what, const std::vector<double> &ref,
                 const std::vector<double> &absSum, const void *yHost, size_t count) {
  constexpr double kRel = 2e-5;
  double worst = 0;
  size_t bad = 0;
  for (size_t i = 0; i < count; ++i) {
    double y = OUT_BF16 ? fromBf16(static_cast<const uint16_t *>(yHost)[i])
                        : static_cast<const float *>(yHost)[i];
    if (!std::isfinite(y)) {
      ++bad;
      continue;
    }
    double tol = kRel * absSum[i] + (OUT_BF16 ? std::ldexp(std::fabs(ref[i]), -8) : 0) + 1e-30;
    worst = std::max(worst, std::fabs(y - ref[i]) / tol);
  }
  report(what, worst, bad);
}

template <int ROWS, int M, int WAVES, int GROUP, bool ZEROS, bool OUT_BF16>
void checkW4(int n, int k) {
  // GPTQ-packed random weights, as a checkpoint stores them.
  std::uniform_int_distribution<uint32_t> word;
  std::vector<int32_t> qweight(static_cast<size_t>(k / 8) * n), qzeros(static_cast<size_t>(k / GROUP) * n / 8);
  for (auto &w : qweight) {
    w = static_cast<int32_t>(word(rng));
  }
  for (auto &z : qzeros) {
    z = ZEROS ? static_cast<int32_t>(word(rng)) : 0x77777777;
  }
  std::uniform_real_distribution<float> sd(0.5f, 1.5f);
  std::vector<uint16_t> scales(static_cast<size_t>(k / GROUP) * n);
  std::vector<float> scalesF(scales.size());
  for (size_t i = 0; i < scales.size(); ++i) {
    scales[i] = toHalf(sd(rng) / (4.6f * std::sqrt(static_cast<float>(k))));
    scalesF[i] = fromHalf(scales[i]);
  }
  fd::codegen::W4RowMajor packed =
      fd::codegen::repackGptq4(qweight.data(), qzeros.data(), scales.data(), n, k, GROUP);
  if (ZEROS != !packed.zeros.empty()) {
    std::printf("SKIP random zeros all 8\n");
    return;
  }
  std::vector<uint16_t> x = randomBf16(static_cast<size_t>(M) * k, 1.0f);
  std::vector<float> w = fd::reference::dequantGptq(qweight.data(), qzeros.data(),
                                                    scalesF.data(), n, k, 4, GROUP);
  std::vector<double> ref(static_cast<size_t>(M) * n), absSum(ref.size());
  for (int m = 0; m < M; ++m) {
    for (int r = 0; r < n; ++r) {
      double s = 0, a = 0;
      for (int kk = 0; kk < k; ++kk) {
        double p = static_cast<double>(w[static_cast<size_t>(r) * k + kk]) * fromBf16(x[static_cast<size_t>(m) * k + kk]);
        s += p;
        a += std::fabs(p);
      }
      ref[static_cast<size_t>(m) * n + r] = s;
      absSum[static_cast<size_t>(m) * n + r] = a;
    }
  }
  DeviceBuffer<int32_t> dq(packed.qweight);
  DeviceBuffer<uint16_t> ds(packed.scales), dx(x);
  DeviceBuffer<uint8_t> dz(packed.zeros);
  DeviceBuffer<uint8_t> dy(ref.size() * (OUT_BF16 ? 2 : 4));
  int rowsPerBlock = ROWS * WAVES;
  fd::kernels::gemv_w4a16<ROWS, M, WAVES, GROUP, ZEROS, OUT_BF16>
      <<<(n + rowsPerBlock - 1) / rowsPerBlock, WAVES * 32>>>(dq.ptr, ds.ptr, dz.ptr, dx.ptr,
                                                              dy.ptr, n, k);
  CHECK_LAUNCH();
  std::vector<uint8_t> y = dy.read();
  char what[160];
  std::snprintf(what, sizeof what, "gemv_w4a16<rows %d, M %d, waves %d, g %d, zeros %d, %s> N=%d K=%d",
                ROWS, M, WAVES, GROUP, ZEROS, OUT_BF16 ? "bf16" : "f32", n, k);
  compareGemv<OUT_BF16>(what, ref, absSum, y.data(), ref.size());
}

template <int ROWS, int M, int WAVES, bool OUT_BF16>
void checkBf16(int n, int k) {
  std::vector<uint16_t> w = randomBf16(static_cast<size_t>(n) * k, 1.0f / std::sqrt(static_cast<float>(k)));
  std::vector<uint16_t> x = randomBf16(static_cast<size_t>(M) * k, 1.0f);
  std::vector<double> ref(static_cast<size_t>(M) * n), absSum(ref.size());
  for (int m = 0; m < M; ++m) {
    for (int r = 0; r < n; ++r) {
      double s = 0, a = 0;
      for (int kk = 0; kk < k; ++kk) {
        double p = static_cast<double>(fromBf16(w[static_cast<size_t>(r) * k + kk])) *
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
  int rowsPerBlock = ROWS * WAVES;
  fd::kernels::gemv_bf16<ROWS, M, WAVES, OUT_BF16>
      <<<(n + rowsPerBlock - 1) / rowsPerBlock, WAVES * 32>>>(dw.ptr, dx.ptr, dy.ptr, n, k);
  CHECK_LAUNCH();
  std::vector<uint8_t> y = dy.read();
  char what[160];
  std::snprintf(what, sizeof what, "gemv_bf16<rows %d, M %d, waves %d, %s> N=%d K=%d", ROWS, M,
                WAVES, OUT_BF16 ? "bf16" : "f32", n, k);
  compareGemv<OUT_BF16>(what, ref, absSum, y.data(), ref.size());
}

template <int THREADS, bool ZC>
void checkRmsNorm(int rows, int d) {
  std::vector<uint16_t> x = randomBf16(static_cast<size_t>(rows) * d, 3.0f);
  std::vector<uint16_t> w = randomBf16(d, 0.2f);
  const float eps = 1e-6f;
  DeviceBuffer<uint16_t> dx(x), dw(w), dy(static_cast<size_t>(rows) * d);
  fd::kernels::rms_norm<THREADS, ZC><<<rows, THREADS>>>(dx.ptr, dw.ptr, dy.ptr, d, eps);
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
      double tol = std::ldexp(std::fabs(ref), -8) + 1e-6 * std::fabs(ref) + 1e-30;
      worst = std::max(worst, std::fabs(got - ref) / tol);
    }
  }
  char what[120];
  std::snprintf(what, sizeof what, "rms_norm<%d threads, %s> rows=%d D=%d", THREADS,
                ZC ? "1 + w" : "w", rows, d);
  report(what, worst, bad);
}

void checkEmbed(int vocab, int h, int tokens) {
  std::vector<uint16_t> table = randomBf16(static_cast<size_t>(vocab) * h, 1.0f);
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
    wrong += std::memcmp(&out[static_cast<size_t>(t) * h], &table[static_cast<size_t>(ids[t]) * h], h * 2) != 0;
  }
  char what[120];
  std::snprintf(what, sizeof what, "embed<256> vocab=%d H=%d tokens=%d (exact copy)", vocab, h, tokens);
  report(what, wrong ? 2.0 : 0.0, 0);
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
  std::snprintf(what, sizeof what, "argmax<1024> n=%d (tie at %d and %d -> %d, got %d)", n, a, b, want, got);
  report(what, got == want ? 0.0 : 2.0, 0);
}

} // namespace

int main(int argc, char **argv) {
  uint64_t seed = std::random_device{}();
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--seed") {
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    }
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("check-kernels: no CUDA device; skipped\n");
    return 77;
  }
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("check-kernels on %s, seed %llu\n", prop.name, static_cast<unsigned long long>(seed));
  rng.seed(seed);

  // Qwen3.5-35B-A3B shapes: in_proj_qkv, q_proj, out_proj/o_proj, expert
  // gate/up and down, shared expert; plus tails (N not a multiple of the
  // rows per block).
  checkW4<2, 1, 4, 128, false, true>(8192, 2048);
  checkW4<4, 1, 4, 128, false, false>(2048, 4096);
  checkW4<1, 1, 8, 128, false, false>(512, 2048);
  checkW4<2, 1, 4, 128, false, true>(2048, 512);
  checkW4<4, 4, 2, 128, true, false>(4100, 2048);
  checkW4<2, 2, 4, 32, true, true>(1000, 1024);
  checkW4<1, 3, 4, 64, false, false>(777, 512);
  checkBf16<2, 1, 4, false>(256, 2048);   // router
  checkBf16<4, 1, 4, true>(512, 2048);    // shared expert gate/up
  checkBf16<1, 1, 8, false>(32, 2048);    // in_proj_b/a
  checkBf16<4, 4, 2, false>(2051, 512);
  checkBf16<2, 1, 8, false>(248320, 2048); // lm_head
  checkRmsNorm<256, true>(4, 2048);
  checkRmsNorm<128, false>(3, 256);
  checkRmsNorm<64, true>(16, 128);
  checkEmbed(248320, 2048, 5);
  checkArgmax(248320);
  checkArgmax(1000);
  std::printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
