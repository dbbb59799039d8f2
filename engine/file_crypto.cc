// AES-256-CBC on OpenSSL's EVP with padding switched off: PKCS#7 is added and checked here, so a
// bad pad is reported with its offset instead of OpenSSL's "bad decrypt".
#include "engine/file_crypto.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>
#include <string>

#include "engine/crypto.h"
#include "engine/setup_profile.h"

namespace kcb {
namespace {

const EVP_CIPHER* aes256_cbc() {
  // Fetched once per process: a fetch per call costs a provider lookup.
  static EVP_CIPHER* const kCipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  KCB_ASSERT(kCipher != nullptr);
  return kCipher;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

Status check_input(std::string_view what, ByteView key, size_t len) {
  if (key.size() != kFileKeySize) {
    return Status::InvalidArgument(std::string(what) + ": key of " + std::to_string(key.size()) +
                                   " bytes, expected 32");
  }
  if (len % kAesBlockSize != 0) {
    return Status::InvalidArgument(std::string(what) + ": " + std::to_string(len) +
                                   " bytes, expected a multiple of 16");
  }
  return Status::Ok();
}

// EVP takes int lengths: a blob of any size goes through in chunks of whole blocks (CBC chains
// across EVP_CipherUpdate calls). `last`, when not empty, is one more block after `in` (written at
// out + in.size()): encrypt_file_blob's padded final block, so the rest is never copied.
void run_cbc(bool encrypt, ByteView key, std::span<const uint8_t, 16> iv, ByteView in, uint8_t* out,
             ByteView last = {}) {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  KCB_ASSERT(ctx != nullptr);
  KCB_ASSERT(EVP_CipherInit_ex2(ctx.get(), aes256_cbc(), key.data(), iv.data(), encrypt ? 1 : 0,
                                nullptr) == 1);
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  const auto update = [&](const uint8_t* from, size_t n, uint8_t* to) {
    int written = 0;
    KCB_ASSERT(EVP_CipherUpdate(ctx.get(), to, &written, from, static_cast<int>(n)) == 1 &&
               static_cast<size_t>(written) == n);
  };
  constexpr size_t kChunk = size_t{1} << 20;
  for (size_t at = 0; at < in.size(); at += kChunk)
    update(in.data() + at, std::min(kChunk, in.size() - at), out + at);
  if (!last.empty()) update(last.data(), last.size(), out + in.size());
  int tail = 0;
  KCB_ASSERT(EVP_CipherFinal_ex(ctx.get(), out + in.size() + last.size(), &tail) == 1 && tail == 0);
}

constexpr uint8_t kZeroIv[kAesBlockSize] = {};

// The way of before issue 17: the whole padded file copied, then encrypted.
Result<Bytes> encrypt_padded_copy(ByteView key, ByteView plaintext) {
  const size_t pad = kAesBlockSize - plaintext.size() % kAesBlockSize;  // 1..16, never 0
  SecretBytes padded(plaintext.size() + pad);
  std::copy(plaintext.begin(), plaintext.end(), padded.data());
  std::fill(padded.data() + plaintext.size(), padded.data() + padded.size(),
            static_cast<uint8_t>(pad));
  return aes256_cbc_encrypt_blocks(key, kZeroIv, padded.view());
}

}  // namespace

Result<Bytes> aes256_cbc_encrypt_blocks(ByteView key, std::span<const uint8_t, 16> iv,
                                        ByteView plaintext) {
  KCB_RETURN_IF_ERROR(check_input("AES-256-CBC encrypt", key, plaintext.size()));
  Bytes out(plaintext.size());
  run_cbc(true, key, iv, plaintext, out.data());
  return out;
}

Result<SecretBytes> aes256_cbc_decrypt_blocks(ByteView key, std::span<const uint8_t, 16> iv,
                                              ByteView ciphertext) {
  KCB_RETURN_IF_ERROR(check_input("AES-256-CBC decrypt", key, ciphertext.size()));
  SecretBytes out(ciphertext.size());
  run_cbc(false, key, iv, ciphertext, out.data());
  return out;
}

// The whole blocks straight from `plaintext`, then its tail and the PKCS#7 pad as one more block:
// no padded copy of the file to fill, wipe and free (a Manifest.db is 32 KiB; issue 17).
Result<Bytes> encrypt_file_blob(ByteView key, ByteView plaintext) {
  if (baseline_setup()) return encrypt_padded_copy(key, plaintext);
  KCB_RETURN_IF_ERROR(check_input("AES-256-CBC encrypt", key, 0));  // the key; any length pads
  const size_t whole = plaintext.size() - plaintext.size() % kAesBlockSize;
  const size_t pad = kAesBlockSize - (plaintext.size() - whole);  // 1..16, never 0
  std::array<uint8_t, kAesBlockSize> last;
  const ByteView tail = plaintext.subspan(whole);
  std::copy(tail.begin(), tail.end(), last.begin());
  std::fill(last.begin() + (kAesBlockSize - pad), last.end(), static_cast<uint8_t>(pad));
  Bytes out(whole + kAesBlockSize);
  run_cbc(true, key, kZeroIv, plaintext.first(whole), out.data(), last);
  wipe(last);
  return out;
}

Result<SecretBytes> decrypt_file_blob(ByteView key, ByteView ciphertext, std::string_view what) {
  // The key first, naming the blob: a caller that unwrapped a file key of the wrong size should
  // learn which file it was working on.
  if (key.size() != kFileKeySize) {
    return Status::InvalidArgument(std::string(what) + ": key of " + std::to_string(key.size()) +
                                   " bytes, expected 32");
  }
  const size_t n = ciphertext.size();
  if (n == 0 || n % kAesBlockSize != 0) {
    const std::string where =
        n == 0 ? "no AES block (PKCS#7 padding needs at least one)"
               : "a partial AES block at offset " + std::to_string(n - n % kAesBlockSize);
    return Status::Corruption(std::string(what) + ": " + std::to_string(n) + " bytes: " + where);
  }
  KCB_ASSIGN_OR_RETURN(SecretBytes plain, aes256_cbc_decrypt_blocks(key, kZeroIv, ciphertext));
  const uint8_t pad = plain.data()[n - 1];
  if (pad == 0 || pad > kAesBlockSize) {
    plain.clear();
    return Status::Corruption(std::string(what) + ": bad PKCS#7 padding: final byte 0x" +
                              to_hex(ByteView(&pad, 1)) + " at offset " + std::to_string(n - 1) +
                              " is not a pad length 1..16 (a wrong key, or altered bytes)");
  }
  for (size_t i = n - pad; i < n - 1; ++i) {
    const uint8_t b = plain.data()[i];
    if (b != pad) {
      plain.clear();
      return Status::Corruption(std::string(what) + ": bad PKCS#7 padding: byte 0x" +
                                to_hex(ByteView(&b, 1)) + " at offset " + std::to_string(i) +
                                ", expected 0x" + to_hex(ByteView(&pad, 1)) +
                                " (a wrong key, or altered bytes)");
    }
  }
  plain.resize(n - pad);
  return plain;
}

}  // namespace kcb
