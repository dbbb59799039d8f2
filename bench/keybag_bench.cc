// Keybag unlock with real parameters (DPIC 10,000,000, ITER 10,000) beside two bare
// PKCS5_PBKDF2_HMAC calls with the same parameters (SHA-256 over DPSL, then SHA-1 over SALT).
// Seconds per run, so few iterations, alternating which goes first. A second pair with tiny counts
// (DPIC 10, ITER 10) isolates our fixed overhead in microseconds: overhead / real peer time is
// the noise-free part of the ratio. Target: unlock <= 1.02x the peer.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include "bench/keychain_fixture.h"
#include "engine/keybag.h"

namespace kcb::bench {
namespace {

struct Bag {
  Keybag bag;
  SecretBytes device_key;
};

// A backup bag as a local-encrypted backup writes it: classes 6-8 password only, 9-11 password
// and device key. Parsed back from its bytes, as restore reads it.
Bag make_bag(const KeybagKdf& kdf) {
  auto random = make_seeded_random(kSeed);
  Bag b;
  b.device_key = SecretBytes(16);
  random->fill(b.device_key.span());
  std::vector<NewClassKey> classes;
  for (uint32_t c = 6; c <= 11; ++c)
    classes.push_back({c, c >= 9 ? kWrapDevice | kWrapPassword : kWrapPassword, std::nullopt});
  NewKeybag created = take(create_keybag(KeybagType::kBackup, classes, as_bytes(kPassword),
                                         b.device_key.view(), kdf, *random),
                           "create_keybag");
  b.bag = take(parse_keybag(serialize_keybag(created.bag)), "parse_keybag");
  return b;
}

double time_ours(const Bag& b) {
  const double start = thread_cpu_seconds();
  UnlockedKeybag keys = take(unlock_keybag(b.bag, as_bytes(kPassword), b.device_key.view()), "u");
  benchmark::DoNotOptimize(keys);
  return thread_cpu_seconds() - start;
}

double time_peer(const Bag& b) {
  static EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  static EVP_MD* sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  uint8_t k1[32];
  uint8_t k[32];
  const double start = thread_cpu_seconds();
  const int pw_len = static_cast<int>(std::char_traits<char>::length(kPassword));
  bool ok = PKCS5_PBKDF2_HMAC(kPassword, pw_len, b.bag.dp_salt.data(),
                              static_cast<int>(b.bag.dp_salt.size()),
                              static_cast<int>(b.bag.dp_iterations), sha256, 32, k1) == 1;
  ok = ok && PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(k1), 32, b.bag.salt.data(),
                               static_cast<int>(b.bag.salt.size()),
                               static_cast<int>(b.bag.iterations), sha1, 32, k) == 1;
  benchmark::DoNotOptimize(k);
  const double t = thread_cpu_seconds() - start;
  if (!ok) check(Status::IOError("PKCS5_PBKDF2_HMAC failed"), "peer");
  return t;
}

void run_pairs(benchmark::State& state, const Bag& b) {
  double ours = 0;
  double peer = 0;
  bool ours_first = true;
  for (auto _ : state) {
    double t;
    if (ours_first) {
      t = time_ours(b);
      peer += time_peer(b);
    } else {
      peer += time_peer(b);
      t = time_ours(b);
    }
    ours_first = !ours_first;
    state.SetIterationTime(t);
    ours += t;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["ours_s"] = ours / n;
  state.counters["peer_s"] = peer / n;
  state.counters["ours_us"] = ours / n * 1e6;
  state.counters["peer_us"] = peer / n * 1e6;
  state.counters["ratio"] = ours / peer;
}

void BM_unlock_real(benchmark::State& state) {
  static const Bag bag = make_bag(KeybagKdf{10'000, true, 10'000'000});
  run_pairs(state, bag);
}
BENCHMARK(BM_unlock_real)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_unlock_tiny_kdf(benchmark::State& state) {
  static const Bag bag = make_bag(KeybagKdf{10, true, 10});
  run_pairs(state, bag);
}
BENCHMARK(BM_unlock_tiny_kdf)->UseManualTime()->MinTime(1.0)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kcb::bench

BENCHMARK_MAIN();
