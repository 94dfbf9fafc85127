# Shared by scripts/demo and scripts/test: install what is missing, configure
# once, build incrementally. Sourced, not run.

FD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# FD_SANITIZE=1: the host code built with AddressSanitizer (LeakSanitizer
# included) and UndefinedBehaviorSanitizer, in its own build directory.
if [ "${FD_SANITIZE:-0}" = 1 ]; then
  FD_BUILD="${FD_BUILD:-$FD_ROOT/build-asan}"
else
  FD_BUILD="${FD_BUILD:-$FD_ROOT/build}"
fi

# Debian 12 packages the build and the tests need (LLVM/MLIR 22 come from
# bookworm-security).
FD_PACKAGES=(
  clang-22 clang-tools-22 lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libfmt-dev nlohmann-json3-dev libcli11-dev libxxhash-dev libpcre2-dev libutf8proc-dev libcpp-httplib-dev libclang-rt-22-dev pkg-config libgtest-dev ccache cmake ninja-build python3 python3-pip ca-certificates
)

fd_install_deps() {
  local missing=()
  for p in "${FD_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "fusedecode: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

fd_build() {
  local sanitize=()
  [ "${FD_SANITIZE:-0}" = 1 ] && sanitize=(-DFD_SANITIZE=ON)
  if [ ! -f "$FD_BUILD/build.ninja" ]; then
    cmake -G Ninja -S "$FD_ROOT" -B "$FD_BUILD" "${sanitize[@]}" \
      -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
      -DLLVM_USE_LINKER=lld \
      -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
      -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit
  fi
  # Two cores and ~400 MB per heavy TU: -j2 is the machine's width.
  cmake --build "$FD_BUILD" -- -j"$(nproc)"
}
