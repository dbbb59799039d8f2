// The two Randoms of engine/random.h. The seeded one is a ChaCha20 keystream (key = SHA-256 of the
// seed as 8 little-endian bytes, zero nonce) so that a seed printed by a failing test replays the
// exact bytes; its clock starts at a fixed date so that cdat/mdat replay too.
#include "kcbackup/random.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>

#include "kcbackup/bytes.h"
#include "kcbackup/status.h"

namespace kcb {
namespace {

// 2024-01-01T00:00:00Z: a fixed, plausible date for seeded runs.
constexpr int64_t kSeededEpoch = 1704067200;

class SystemRandom final : public Random {
 public:
  void fill(std::span<uint8_t> out) override {
    if (out.empty()) return;
    // A failing system RNG is not bad input: nothing safe can continue without randomness.
    KCB_ASSERT(RAND_bytes(out.data(), static_cast<int>(out.size())) == 1);
  }
  int64_t now_unix_seconds() override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// Fetched once per process (and never freed, like OpenSSL's own default provider): a fetch looks
// the algorithm up in the provider's tables under a lock, and fuzz targets make a seeded Random
// for every input.
const EVP_CIPHER* chacha20() {
  static const EVP_CIPHER* const cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "ChaCha20", nullptr);
    KCB_ASSERT(c != nullptr);
    return c;
  }();
  return cipher;
}

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : ctx_(EVP_CIPHER_CTX_new()) {
    KCB_ASSERT(ctx_ != nullptr);
    std::array<uint8_t, 8> seed_bytes;
    for (size_t i = 0; i < seed_bytes.size(); ++i)
      seed_bytes[i] = uint8_t(seed >> (8 * i));
    std::array<uint8_t, SHA256_DIGEST_LENGTH> key;
    SHA256(seed_bytes.data(), seed_bytes.size(), key.data());
    const std::array<uint8_t, 16> counter_and_nonce{};
    KCB_ASSERT(
        EVP_EncryptInit_ex2(ctx_, chacha20(), key.data(), counter_and_nonce.data(), nullptr) == 1);
    wipe(key);
  }
  ~SeededRandom() override { EVP_CIPHER_CTX_free(ctx_); }
  SeededRandom(const SeededRandom&) = delete;
  SeededRandom& operator=(const SeededRandom&) = delete;

  void fill(std::span<uint8_t> out) override {
    // The keystream is ChaCha20 applied to zeros; chunks keep the int length of EVP in range.
    constexpr size_t kChunk = 1 << 20;
    for (size_t done = 0; done < out.size();) {
      const size_t n = std::min(kChunk, out.size() - done);
      uint8_t* p = out.data() + done;
      std::memset(p, 0, n);
      int written = 0;
      KCB_ASSERT(EVP_EncryptUpdate(ctx_, p, &written, p, static_cast<int>(n)) == 1);
      KCB_ASSERT(static_cast<size_t>(written) == n);
      done += n;
    }
  }
  int64_t now_unix_seconds() override { return now_++; }

 private:
  EVP_CIPHER_CTX* ctx_;
  int64_t now_ = kSeededEpoch;
};

}  // namespace

std::unique_ptr<Random> make_system_random() {
  return std::make_unique<SystemRandom>();
}

std::unique_ptr<Random> make_seeded_random(uint64_t seed) {
  return std::make_unique<SeededRandom>(seed);
}

Result<std::unique_ptr<Random>> make_random(std::string_view seed) {
  if (seed.empty()) return make_system_random();
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(seed.data(), seed.data() + seed.size(), n);
  if (ec != std::errc() || end != seed.data() + seed.size()) {
    return Status::InvalidArgument("'" + std::string(seed) +
                                   "' is not a whole number from 0 to 18446744073709551615");
  }
  return make_seeded_random(n);
}

}  // namespace kcb
