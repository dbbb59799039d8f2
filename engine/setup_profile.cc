#include "engine/setup_profile.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace kcb {
namespace {

// -1: not read yet; 0 / 1 afterwards.
std::atomic<int> g_baseline{-1};

}  // namespace

bool baseline_setup() {
  int v = g_baseline.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* env = std::getenv("KCB_BASELINE_SETUP");
    v = env != nullptr && std::strcmp(env, "1") == 0 ? 1 : 0;
    g_baseline.store(v, std::memory_order_relaxed);
  }
  return v == 1;
}

void set_baseline_setup(bool on) {
  g_baseline.store(on ? 1 : 0, std::memory_order_relaxed);
}

}  // namespace kcb
