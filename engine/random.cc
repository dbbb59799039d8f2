// The two Randoms of engine/random.h. The seeded one is a ChaCha20 keystream (key = SHA-256 of the
// seed as 8 little-endian bytes, zero nonce) so that a seed printed by a failing test replays the
// exact bytes; its clock starts at a fixed date so that cdat/mdat replay too.
#include "kcbackup/random.h"

// SHA256_Init and friends (see SeededRandom).
#define OPENSSL_SUPPRESS_DEPRECATED

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

// The keystream is taken a block group at a time into a buffer, and handed out from it: a journey
// asks for a few bytes at a time (keys, IVs, salts, UUIDs), hundreds of times, and each request had
// been an EVP_EncryptUpdate of its own (issue 17). The bytes are the same, in the same order: the
// stream is one ChaCha20 keystream however it is cut (tests/crypto_test.cc has its known answer).
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : ctx_(EVP_CIPHER_CTX_new()) {
    KCB_ASSERT(ctx_ != nullptr);
    std::array<uint8_t, 8> seed_bytes;
    for (size_t i = 0; i < seed_bytes.size(); ++i)
      seed_bytes[i] = uint8_t(seed >> (8 * i));
    // OpenSSL's low-level SHA-256 (deprecated in 3.0, kept): the one-shot EVP call looks the
    // digest up by name every time, and fuzz targets make a seeded Random for every input.
    std::array<uint8_t, SHA256_DIGEST_LENGTH> key;
    SHA256_CTX sha;
    KCB_ASSERT(SHA256_Init(&sha) == 1 &&
               SHA256_Update(&sha, seed_bytes.data(), seed_bytes.size()) == 1 &&
               SHA256_Final(key.data(), &sha) == 1);
    const std::array<uint8_t, 16> counter_and_nonce{};
    KCB_ASSERT(
        EVP_EncryptInit_ex2(ctx_, chacha20(), key.data(), counter_and_nonce.data(), nullptr) == 1);
    wipe(key);
    wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&sha), sizeof sha));
  }
  ~SeededRandom() override {
    wipe(buffer_);
    EVP_CIPHER_CTX_free(ctx_);
  }
  SeededRandom(const SeededRandom&) = delete;
  SeededRandom& operator=(const SeededRandom&) = delete;

  void fill(std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      if (used_ == buffer_.size()) {
        const size_t left = out.size() - done;
        if (left >= buffer_.size()) {  // whole buffers' worth: straight into `out`
          const size_t n = left - left % buffer_.size();
          keystream(out.data() + done, n);
          done += n;
          continue;
        }
        keystream(buffer_.data(), buffer_.size());
        used_ = 0;
      }
      const size_t n = std::min(buffer_.size() - used_, out.size() - done);
      std::memcpy(out.data() + done, buffer_.data() + used_, n);
      used_ += n;
      done += n;
    }
  }
  int64_t now_unix_seconds() override { return now_++; }

 private:
  // The next n bytes of the keystream: ChaCha20 applied to zeros, in chunks that keep EVP's int
  // length in range.
  void keystream(uint8_t* out, size_t n) {
    constexpr size_t kChunk = 1 << 20;
    for (size_t done = 0; done < n;) {
      const size_t len = std::min(kChunk, n - done);
      uint8_t* p = out + done;
      std::memset(p, 0, len);
      int written = 0;
      KCB_ASSERT(EVP_EncryptUpdate(ctx_, p, &written, p, static_cast<int>(len)) == 1);
      KCB_ASSERT(static_cast<size_t>(written) == len);
      done += len;
    }
  }

  EVP_CIPHER_CTX* ctx_;
  std::array<uint8_t, 256> buffer_{};  // four ChaCha20 blocks
  size_t used_ = sizeof buffer_;       // bytes of buffer_ already handed out
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
