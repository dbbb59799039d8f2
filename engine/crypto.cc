// OpenSSL 3 behind the small interface of crypto.h. GCM goes through the low-level CRYPTO_gcm128_*
// API because EVP refuses a zero-length IV, and RFC 3394 is written out here because OpenSSL's
// AES-WRAP cipher costs microseconds of provider set-up per call; both are fed by an AES-ECB EVP
// context so that AES itself still runs on the provider's accelerated code.
#include "engine/crypto.h"

// SHA1_Init and friends: PBKDF2 below runs on the low-level hash interface (see PadStates).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/modes.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <memory>
#include <string>

#include "engine/setup_profile.h"

// Fuzz builds instrument every branch and comparison for libFuzzer (SanitizerCoverage). The loops
// marked KCB_CIPHER_LOOP run on keys, counters and cipher output, whose branches depend on
// lengths alone and whose values no mutation can steer (the fuzzer cannot choose an AES output),
// so their coverage tells libFuzzer nothing while its hooks cost a call per comparison: in a fully
// instrumented journey run, 3.5 % of all samples were compare hooks called from these loops
// (issue 17). ASan and UBSan still check them; the functions they call keep their coverage.
#if defined(__clang__)
#define KCB_CIPHER_LOOP __attribute__((no_sanitize("coverage")))
#else
#define KCB_CIPHER_LOOP
#endif

namespace kcb {
namespace {

struct Algorithms {
  EVP_CIPHER* ecb[3];  // AES-128/192/256-ECB
  EVP_CIPHER* cbc128;
  EVP_MD* sha256;
  EVP_MD* sha1;
};

EVP_CIPHER* fetch_cipher(const char* name) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  KCB_ASSERT(c != nullptr);  // the default provider always has these
  return c;
}

EVP_MD* fetch_digest(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  KCB_ASSERT(md != nullptr);
  return md;
}

// Fetched once and kept for the life of the process: fetching per call costs a provider lookup.
const Algorithms& algorithms() {
  static const Algorithms kAlgorithms{
      {fetch_cipher("AES-128-ECB"), fetch_cipher("AES-192-ECB"), fetch_cipher("AES-256-ECB")},
      fetch_cipher("AES-128-CBC"),
      fetch_digest("SHA2-256"),
      fetch_digest("SHA1"),
  };
  return kAlgorithms;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

CipherCtx new_cipher_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  KCB_ASSERT(ctx != nullptr);
  return ctx;
}

// Index into Algorithms::ecb for an AES key length, or -1.
int aes_key_index(size_t key_len) {
  switch (key_len) {
    case 16:
      return 0;
    case 24:
      return 1;
    case 32:
      return 2;
    default:
      return -1;
  }
}

Status check_aes_key(std::string_view what, ByteView key) {
  if (aes_key_index(key.size()) >= 0) return Status::Ok();
  return Status::InvalidArgument(std::string(what) + ": key of " + std::to_string(key.size()) +
                                 " bytes, expected 16, 24 or 32");
}

bool fits_int(size_t n) {
  return n <= static_cast<size_t>(INT_MAX) - 64;
}

Status check_key_wrap_input(std::string_view what, size_t len, size_t min_len) {
  if (len % 8 == 0 && len >= min_len && fits_int(len)) return Status::Ok();
  return Status::InvalidArgument(std::string(what) + ": " + std::to_string(len) +
                                 " bytes, expected a multiple of 8 of at least " +
                                 std::to_string(min_len));
}

// One cipher operation over the whole input: init, update, final. Returns false when OpenSSL says
// no (for unwrap that means the integrity check failed).
bool run_cipher(const EVP_CIPHER* cipher, bool encrypt, ByteView key, const uint8_t* iv,
                ByteView in, uint8_t* out, size_t expected_out) {
  CipherCtx ctx = new_cipher_ctx();
  if (EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), iv, encrypt ? 1 : 0, nullptr) != 1) {
    return false;
  }
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  int n = 0;
  int tail = 0;
  if (EVP_CipherUpdate(ctx.get(), out, &n, in.data(), static_cast<int>(in.size())) != 1) {
    return false;
  }
  if (EVP_CipherFinal_ex(ctx.get(), out + n, &tail) != 1) return false;
  return static_cast<size_t>(n) + static_cast<size_t>(tail) == expected_out;
}

// ---- GCM on CRYPTO_gcm128 with an ECB context as its block cipher ----

// EVP_Cipher, not EVP_CipherUpdate: whole blocks need none of Update's buffering, and a key wrap
// makes 24 of these calls in a row (RFC 3394's steps depend on each other), where Update's
// bookkeeping cost about half as much as the block (callgrind: -12% of a wrap's instructions).
void ecb_block(const unsigned char in[16], unsigned char out[16], const void* key) {
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(const_cast<void*>(key));
  KCB_ASSERT(EVP_Cipher(ctx, out, in, 16) == 16);  // a provider's cipher returns the length
}

// out = in ^ stream for n bytes, a multiple of 16, eight at a time: the same bytes as a byte loop,
// with an eighth of its sanitizer checks in fuzz builds (memcpy of 8 bytes is one load or store).
KCB_CIPHER_LOOP void xor_into(uint8_t* out, const uint8_t* in, const uint8_t* stream, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, in + i, 8);
    std::memcpy(&b, stream + i, 8);
    a ^= b;
    std::memcpy(out + i, &a, 8);
  }
}

// GCM's counter mode increments only the low 32 bits of the counter block (inc32), so the counter
// blocks are built here and encrypted in batches by ECB.
KCB_CIPHER_LOOP void ecb_ctr32(const unsigned char* in, unsigned char* out, size_t blocks,
                               const void* key, const unsigned char ivec[16]) {
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(const_cast<void*>(key));
  constexpr size_t kBatch = 32;
  std::array<uint8_t, kBatch * 16> stream;
  uint32_t counter = load_be32(ivec + 12);
  while (blocks > 0) {
    const size_t batch = std::min(blocks, kBatch);
    for (size_t b = 0; b < batch; ++b, ++counter) {
      uint8_t* block = stream.data() + 16 * b;
      std::copy(ivec, ivec + 12, block);
      store_be32(block + 12, counter);
    }
    const int len = static_cast<int>(16 * batch);
    KCB_ASSERT(EVP_Cipher(ctx, stream.data(), stream.data(), static_cast<unsigned>(len)) == len);
    xor_into(out, in, stream.data(), static_cast<size_t>(len));
    in += len;
    out += len;
    blocks -= batch;
  }
  wipe(stream);
}

CipherCtx new_ecb_ctx(ByteView key, bool encrypt) {
  CipherCtx ctx = new_cipher_ctx();
  const EVP_CIPHER* ecb = algorithms().ecb[aes_key_index(key.size())];
  KCB_ASSERT(EVP_CipherInit_ex2(ctx.get(), ecb, key.data(), nullptr, encrypt ? 1 : 0, nullptr) ==
             1);
  // No EVP_CIPHER_CTX_set_padding: these contexts only go through EVP_Cipher, which hands whole
  // blocks to the provider and never pads (padding is EVP_CipherUpdate's and Final's). The call
  // was a parameter lookup by name per context, strcmp through ASan's interceptor and
  // libFuzzer's hook under the fuzzers (issue 17).
  return ctx;
}

// ---- RFC 3394 on an ECB context ----
// OpenSSL's AES-WRAP cipher costs several microseconds per call in provider set-up, more than the
// whole per-item budget, so the 6n steps of RFC 3394 section 2.2 run here on a plain ECB context.

constexpr uint8_t kKeyWrapIv[8] = {0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6};

KCB_CIPHER_LOOP void xor_step_counter(uint8_t* a, uint64_t t) {
  for (int k = 0; k < 8; ++k)
    a[k] ^= uint8_t(t >> (8 * (7 - k)));
}

// in: n >= 2 semiblocks; out: n + 1 semiblocks.
KCB_CIPHER_LOOP void key_wrap_blocks(EVP_CIPHER_CTX* ecb, ByteView in, uint8_t* out) {
  const size_t n = in.size() / 8;
  std::array<uint8_t, 16> b;
  std::copy(kKeyWrapIv, kKeyWrapIv + 8, b.begin());
  std::copy(in.begin(), in.end(), out + 8);
  for (uint64_t j = 0; j < 6; ++j) {
    for (size_t i = 1; i <= n; ++i) {
      std::copy(out + 8 * i, out + 8 * i + 8, b.begin() + 8);
      ecb_block(b.data(), b.data(), ecb);
      xor_step_counter(b.data(), n * j + i);
      std::copy(b.begin() + 8, b.end(), out + 8 * i);
    }
  }
  std::copy(b.begin(), b.begin() + 8, out);
  wipe(b);
}

// CBC chaining over single ECB blocks, from a zero IV: out_i = E(in_i ^ out_(i-1)), out_(-1) = 0.
KCB_CIPHER_LOOP void cbc_zero_iv_blocks(EVP_CIPHER_CTX* ecb, ByteView in, uint8_t* out) {
  std::array<uint8_t, 16> b{};
  for (size_t at = 0; at < in.size(); at += 16) {
    for (size_t k = 0; k < 16; ++k)
      b[k] ^= in[at + k];
    ecb_block(b.data(), b.data(), ecb);
    std::copy(b.begin(), b.end(), out + at);
  }
  wipe(b);
}

// Its inverse: out_i = D(in_i) ^ in_(i-1), in_(-1) = 0.
KCB_CIPHER_LOOP void cbc_zero_iv_decrypt_blocks(EVP_CIPHER_CTX* ecb_decrypt, ByteView in,
                                                uint8_t* out) {
  std::array<uint8_t, 16> b;
  for (size_t at = 0; at < in.size(); at += 16) {
    ecb_block(in.data() + at, b.data(), ecb_decrypt);
    for (size_t k = 0; k < 16; ++k)
      out[at + k] = b[k] ^ (at == 0 ? 0 : in[at - 16 + k]);
  }
  wipe(b);
}

// in: n + 1 semiblocks; out: n semiblocks. False when the integrity check fails.
KCB_CIPHER_LOOP bool key_unwrap_blocks(EVP_CIPHER_CTX* ecb_decrypt, ByteView in, uint8_t* out) {
  const size_t n = in.size() / 8 - 1;
  std::array<uint8_t, 16> b;
  std::copy(in.begin(), in.begin() + 8, b.begin());
  std::copy(in.begin() + 8, in.end(), out);
  for (uint64_t j = 6; j-- > 0;) {
    for (size_t i = n; i >= 1; --i) {
      xor_step_counter(b.data(), n * j + i);
      std::copy(out + 8 * (i - 1), out + 8 * i, b.begin() + 8);
      ecb_block(b.data(), b.data(), ecb_decrypt);
      std::copy(b.begin() + 8, b.end(), out + 8 * (i - 1));
    }
  }
  const bool intact = CRYPTO_memcmp(b.data(), kKeyWrapIv, 8) == 0;
  wipe(b);
  return intact;
}

struct GcmFree {
  void operator()(GCM128_CONTEXT* g) const { CRYPTO_gcm128_release(g); }
};

// Key schedule in an ECB context plus a gcm128 context bound to it, IV and AAD absorbed.
struct Gcm {
  CipherCtx ecb;
  std::unique_ptr<GCM128_CONTEXT, GcmFree> gcm;
};

Result<Gcm> start_gcm(ByteView key, ByteView iv, ByteView aad) {
  KCB_RETURN_IF_ERROR(check_aes_key("AES-GCM", key));
  Gcm g{new_ecb_ctx(key, true), nullptr};
  g.gcm.reset(CRYPTO_gcm128_new(g.ecb.get(), ecb_block));
  KCB_ASSERT(g.gcm != nullptr);
  // CRYPTO_gcm128_setiv follows SP 800-38D for every length: with an empty IV, J0 = GHASH_H of the
  // single length block 0^64 || 0^64, which is the zero block.
  CRYPTO_gcm128_setiv(g.gcm.get(), iv.data(), iv.size());
  if (!aad.empty() && CRYPTO_gcm128_aad(g.gcm.get(), aad.data(), aad.size()) != 0) {
    return Status::InvalidArgument("AES-GCM: AAD too long");
  }
  return g;
}

Status check_same_size(std::string_view what, size_t in, size_t out) {
  if (in == out) return Status::Ok();
  return Status::InvalidArgument(std::string(what) + ": output buffer of " + std::to_string(out) +
                                 " bytes for " + std::to_string(in) + " input bytes");
}

Status check_pbkdf2_args(ByteView password, ByteView salt, uint32_t iterations, size_t out_len) {
  if (iterations == 0 || iterations > static_cast<uint32_t>(INT_MAX)) {
    return Status::InvalidArgument("PBKDF2: iteration count " + std::to_string(iterations) +
                                   " out of range 1.." + std::to_string(INT_MAX));
  }
  if (out_len == 0 || out_len > 1024) {
    return Status::InvalidArgument("PBKDF2: output length " + std::to_string(out_len) +
                                   " out of range 1..1024");
  }
  if (!fits_int(password.size()) || !fits_int(salt.size())) {
    return Status::InvalidArgument("PBKDF2: password or salt too long");
  }
  return Status::Ok();
}

// OpenSSL's own PBKDF2: the baseline set-up's (engine/setup_profile.h), and the peer the tests
// compare the one below with.
SecretBytes pbkdf2_evp(const EVP_MD* md, ByteView password, ByteView salt, uint32_t iterations,
                       size_t out_len) {
  static const char kEmpty[1] = {0};
  const char* pass = password.empty() ? kEmpty : reinterpret_cast<const char*>(password.data());
  static const uint8_t kNoSalt[1] = {0};
  const uint8_t* salt_bytes = salt.empty() ? kNoSalt : salt.data();
  SecretBytes out(out_len);
  KCB_ASSERT(PKCS5_PBKDF2_HMAC(pass, static_cast<int>(password.size()), salt_bytes,
                               static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                               static_cast<int>(out_len), out.data()) == 1);
  return out;
}

// One hash of OpenSSL's low-level interface (the same compression functions EVP runs).
template <typename C, size_t kDigestSize, size_t kBlockSize, int (*Init)(C*),
          int (*Update)(C*, const void*, size_t), int (*Final)(unsigned char*, C*)>
struct LowLevelHash {
  using Ctx = C;
  static constexpr size_t kDigest = kDigestSize, kBlock = kBlockSize;
  static void init(Ctx* c) { Init(c); }
  static void update(Ctx* c, const uint8_t* p, size_t n) { Update(c, p, n); }
  static void final(Ctx* c, uint8_t* out) { Final(out, c); }
};
using Sha1 =
    LowLevelHash<SHA_CTX, SHA_DIGEST_LENGTH, SHA_CBLOCK, SHA1_Init, SHA1_Update, SHA1_Final>;
using Sha256 = LowLevelHash<SHA256_CTX, SHA256_DIGEST_LENGTH, SHA256_CBLOCK, SHA256_Init,
                            SHA256_Update, SHA256_Final>;

// HMAC (RFC 2104) with the key's inner and outer pad blocks hashed once: each PRF call then costs
// a copy of a hash state and two short updates. PKCS5_PBKDF2_HMAC sets up a provider KDF, an HMAC
// and two digest fetches per call (about 35 allocations, and in callgrind half the instructions
// of a 10-round derivation, the count test bags use) and copies three digest contexts per round.
template <typename H>
class PadStates {
 public:
  explicit PadStates(ByteView key) {
    std::array<uint8_t, H::kBlock> block{};
    if (key.size() > H::kBlock) {
      typename H::Ctx c;
      H::init(&c);
      H::update(&c, key.data(), key.size());
      H::final(&c, block.data());
      wipe_state(c);
    } else {
      std::copy(key.begin(), key.end(), block.begin());
    }
    inner_ = keyed(block, 0x36);
    outer_ = keyed(block, 0x5c);
    wipe(block);
  }
  ~PadStates() {
    wipe_state(inner_);
    wipe_state(outer_);
  }
  PadStates(const PadStates&) = delete;
  PadStates& operator=(const PadStates&) = delete;

  // out = HMAC(key, a || b).
  KCB_CIPHER_LOOP void mac(ByteView a, ByteView b, uint8_t* out) const {
    typename H::Ctx c = inner_;
    H::update(&c, a.data(), a.size());
    H::update(&c, b.data(), b.size());
    H::final(&c, out);
    c = outer_;
    H::update(&c, out, H::kDigest);
    H::final(&c, out);
    wipe_state(c);
  }

  static void wipe_state(typename H::Ctx& c) {
    wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&c), sizeof c));
  }

 private:
  KCB_CIPHER_LOOP static typename H::Ctx keyed(const std::array<uint8_t, H::kBlock>& key,
                                               uint8_t pad) {
    std::array<uint8_t, H::kBlock> padded;
    for (size_t i = 0; i < padded.size(); ++i)
      padded[i] = key[i] ^ pad;
    typename H::Ctx c;
    H::init(&c);
    H::update(&c, padded.data(), padded.size());
    wipe(padded);
    return c;
  }
  typename H::Ctx inner_, outer_;
};

// RFC 8018 section 5.2: block i is U_1 ^ ... ^ U_c, U_1 = PRF(P, S || INT(i)), U_j = PRF(P, U_j-1).
template <typename H>
KCB_CIPHER_LOOP SecretBytes pbkdf2_hmac(ByteView password, ByteView salt, uint32_t iterations,
                                        size_t out_len) {
  const PadStates<H> prf(password);
  SecretBytes out(out_len);
  std::array<uint8_t, H::kDigest> u, t;
  for (uint32_t i = 1, done = 0; done < out_len; ++i) {
    std::array<uint8_t, 4> index;
    store_be32(index.data(), i);
    prf.mac(salt, index, u.data());
    t = u;
    for (uint32_t j = 1; j < iterations; ++j) {
      prf.mac(u, {}, u.data());
      for (size_t k = 0; k < t.size(); ++k)
        t[k] ^= u[k];
    }
    const size_t n = std::min<size_t>(t.size(), out_len - done);
    std::copy_n(t.begin(), n, out.data() + done);
    done += n;
  }
  wipe(u);
  wipe(t);
  return out;
}

Status check_cbc_input(std::string_view what, ByteView key, size_t len) {
  if (key.size() != 16) {
    return Status::InvalidArgument(std::string(what) + ": key of " + std::to_string(key.size()) +
                                   " bytes, expected 16");
  }
  if (len == 0 || len % kAesBlockSize != 0 || !fits_int(len)) {
    return Status::InvalidArgument(std::string(what) + ": " + std::to_string(len) +
                                   " bytes, expected a non-empty multiple of 16");
  }
  return Status::Ok();
}

}  // namespace

// Each direction's schedule is built on its first use (issue 17): a keybag prepares a KeyWrapKey
// for every class key, and most are only ever used one way (a backup's keys wrap, a restore's
// unwrap). The key waits in its own array until then. The baseline set-up builds both at once.
struct KeyWrapKey::Schedules {
  // The key in place rather than in a SecretBytes: one allocation per prepared key instead of two
  // (a journey prepares about fifty; issue 17). Wiped as SecretBytes would be.
  std::array<uint8_t, 32> key{};
  size_t key_size = 0;
  mutable CipherCtx encrypt;
  mutable CipherCtx decrypt;

  explicit Schedules(ByteView k) : key_size(k.size()) {
    KCB_ASSERT(k.size() <= key.size());  // create() checked it is an AES key
    std::copy(k.begin(), k.end(), key.begin());
  }
  ~Schedules() { wipe(key); }
  Schedules(const Schedules&) = delete;
  Schedules& operator=(const Schedules&) = delete;

  EVP_CIPHER_CTX* get(bool for_encrypt) const {
    CipherCtx& ctx = for_encrypt ? encrypt : decrypt;
    if (ctx == nullptr) ctx = new_ecb_ctx(ByteView(key.data(), key_size), for_encrypt);
    return ctx.get();
  }
};

Result<KeyWrapKey> KeyWrapKey::create(ByteView kek) {
  KCB_RETURN_IF_ERROR(check_aes_key("AES key wrap", kek));
  KeyWrapKey k;
  auto s = std::make_shared<Schedules>(kek);
  if (baseline_setup()) {
    s->get(true);
    s->get(false);
  }
  k.schedules_ = std::move(s);
  return k;
}

Result<Bytes> aes_key_wrap(const KeyWrapKey& kek, ByteView key_data) {
  KCB_ASSERT(!kek.empty());
  KCB_RETURN_IF_ERROR(check_key_wrap_input("AES key wrap: key data", key_data.size(), 16));
  Bytes out(key_data.size() + kKeyWrapOverhead);
  key_wrap_blocks(kek.schedules_->get(true), key_data, out.data());
  return out;
}

Result<SecretBytes> aes_key_unwrap(const KeyWrapKey& kek, ByteView wrapped) {
  KCB_ASSERT(!kek.empty());
  KCB_RETURN_IF_ERROR(check_key_wrap_input("AES key unwrap: wrapped key", wrapped.size(), 24));
  SecretBytes out(wrapped.size() - kKeyWrapOverhead);
  if (!key_unwrap_blocks(kek.schedules_->get(false), wrapped, out.data())) {
    out.clear();
    return Status::DataLoss("AES key unwrap: integrity check failed (wrong key or altered bytes)");
  }
  return out;
}

namespace {

// The prepared-key CBC's input: whole blocks, at least one.
Status check_cbc_blocks(std::string_view what, const KeyWrapKey& key, size_t len) {
  KCB_ASSERT(!key.empty());
  if (len != 0 && len % kAesBlockSize == 0) return Status::Ok();
  return Status::InvalidArgument(std::string(what) + ": " + std::to_string(len) +
                                 " bytes, expected a non-empty multiple of 16");
}

}  // namespace

Result<Bytes> aes_cbc_encrypt_zero_iv(const KeyWrapKey& key, ByteView plaintext) {
  KCB_RETURN_IF_ERROR(check_cbc_blocks("AES-CBC encrypt", key, plaintext.size()));
  Bytes out(plaintext.size());
  cbc_zero_iv_blocks(key.schedules_->get(true), plaintext, out.data());
  return out;
}

Result<SecretBytes> aes_cbc_decrypt_zero_iv(const KeyWrapKey& key, ByteView ciphertext) {
  KCB_RETURN_IF_ERROR(check_cbc_blocks("AES-CBC decrypt", key, ciphertext.size()));
  SecretBytes out(ciphertext.size());
  cbc_zero_iv_decrypt_blocks(key.schedules_->get(false), ciphertext, out.data());
  return out;
}

Result<Bytes> aes_key_wrap(ByteView kek, ByteView key_data) {
  KCB_ASSIGN_OR_RETURN(KeyWrapKey prepared, KeyWrapKey::create(kek));
  return aes_key_wrap(prepared, key_data);
}

Result<SecretBytes> aes_key_unwrap(ByteView kek, ByteView wrapped) {
  KCB_RETURN_IF_ERROR(check_aes_key("AES key unwrap", kek));
  KCB_ASSIGN_OR_RETURN(KeyWrapKey prepared, KeyWrapKey::create(kek));
  return aes_key_unwrap(prepared, wrapped);
}

Status aes_gcm_seal(ByteView key, ByteView iv, ByteView aad, ByteView plaintext,
                    std::span<uint8_t> ciphertext_out, std::span<uint8_t, kGcmTagSize> tag_out) {
  KCB_RETURN_IF_ERROR(check_same_size("AES-GCM seal", plaintext.size(), ciphertext_out.size()));
  KCB_ASSIGN_OR_RETURN(Gcm g, start_gcm(key, iv, aad));
  if (CRYPTO_gcm128_encrypt_ctr32(g.gcm.get(), plaintext.data(), ciphertext_out.data(),
                                  plaintext.size(), ecb_ctr32) != 0) {
    return Status::InvalidArgument("AES-GCM seal: plaintext of " +
                                   std::to_string(plaintext.size()) + " bytes is too long");
  }
  CRYPTO_gcm128_tag(g.gcm.get(), tag_out.data(), tag_out.size());
  return Status::Ok();
}

Status aes_gcm_open(ByteView key, ByteView iv, ByteView aad, ByteView ciphertext,
                    std::span<const uint8_t, kGcmTagSize> tag, std::span<uint8_t> plaintext_out) {
  KCB_RETURN_IF_ERROR(check_same_size("AES-GCM open", ciphertext.size(), plaintext_out.size()));
  KCB_ASSIGN_OR_RETURN(Gcm g, start_gcm(key, iv, aad));
  if (CRYPTO_gcm128_decrypt_ctr32(g.gcm.get(), ciphertext.data(), plaintext_out.data(),
                                  ciphertext.size(), ecb_ctr32) != 0) {
    wipe(plaintext_out);
    return Status::InvalidArgument("AES-GCM open: ciphertext of " +
                                   std::to_string(ciphertext.size()) + " bytes is too long");
  }
  if (CRYPTO_gcm128_finish(g.gcm.get(), tag.data(), tag.size()) != 0) {
    wipe(plaintext_out);
    return Status::DataLoss("AES-GCM open: tag mismatch (wrong key or altered bytes)");
  }
  return Status::Ok();
}

Result<SecretBytes> pbkdf2_hmac_sha256(ByteView password, ByteView salt, uint32_t iterations,
                                       size_t out_len) {
  KCB_RETURN_IF_ERROR(check_pbkdf2_args(password, salt, iterations, out_len));
  if (baseline_setup()) return pbkdf2_evp(algorithms().sha256, password, salt, iterations, out_len);
  return pbkdf2_hmac<Sha256>(password, salt, iterations, out_len);
}

Result<SecretBytes> pbkdf2_hmac_sha1(ByteView password, ByteView salt, uint32_t iterations,
                                     size_t out_len) {
  KCB_RETURN_IF_ERROR(check_pbkdf2_args(password, salt, iterations, out_len));
  if (baseline_setup()) return pbkdf2_evp(algorithms().sha1, password, salt, iterations, out_len);
  return pbkdf2_hmac<Sha1>(password, salt, iterations, out_len);
}

std::array<uint8_t, 20> sha1_digest(ByteView data) {
  std::array<uint8_t, 20> out;
  unsigned int len = 0;
  const int ok = EVP_Digest(data.data(), data.size(), out.data(), &len, algorithms().sha1, nullptr);
  KCB_ASSERT(ok == 1 && len == out.size());
  return out;
}

Result<Bytes> aes128_cbc_encrypt_zero_iv(ByteView key, ByteView plaintext) {
  KCB_RETURN_IF_ERROR(check_cbc_input("AES-128-CBC encrypt", key, plaintext.size()));
  static constexpr uint8_t kZeroIv[kAesBlockSize] = {};
  Bytes out(plaintext.size());
  KCB_ASSERT(
      run_cipher(algorithms().cbc128, true, key, kZeroIv, plaintext, out.data(), out.size()));
  return out;
}

Result<SecretBytes> aes128_cbc_decrypt_zero_iv(ByteView key, ByteView ciphertext) {
  KCB_RETURN_IF_ERROR(check_cbc_input("AES-128-CBC decrypt", key, ciphertext.size()));
  static constexpr uint8_t kZeroIv[kAesBlockSize] = {};
  SecretBytes out(ciphertext.size());
  KCB_ASSERT(
      run_cipher(algorithms().cbc128, false, key, kZeroIv, ciphertext, out.data(), out.size()));
  return out;
}

Result<SecretBytes> derive_device_key_835(ByteView uid) {
  if (uid.size() != kUidSize) {
    return Status::InvalidArgument("key 0x835: UID of " + std::to_string(uid.size()) +
                                   " bytes, expected 32");
  }
  std::array<uint8_t, kAesBlockSize> ones;
  ones.fill(0x01);
  SecretBytes key(kDeviceKeySize);
  KCB_ASSERT(run_cipher(algorithms().ecb[2], true, uid, nullptr, ones, key.data(), key.size()));
  return key;
}

}  // namespace kcb
