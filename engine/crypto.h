// The cryptographic primitives of the engine, on OpenSSL 3 libcrypto. Every function checks the
// lengths it is given and returns a Status instead of trusting them; an integrity failure (RFC 3394
// check, GCM tag) is DataLoss, a wrong key or buffer length is InvalidArgument. Secrets come back
// in SecretBytes. Ciphers and digests are fetched from the provider once per process and reused.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "kcbackup/bytes.h"
#include "kcbackup/status.h"

namespace kcb {

inline constexpr size_t kAesBlockSize = 16;
inline constexpr size_t kKeyWrapOverhead = 8;  // RFC 3394 prepends one 64-bit integrity block
inline constexpr size_t kGcmTagSize = 16;
inline constexpr size_t kUidSize = 32;
inline constexpr size_t kDeviceKeySize = 16;

// RFC 3394 AES key wrap with the default IV A6A6A6A6A6A6A6A6. kek: 16, 24 or 32 bytes; key_data: a
// multiple of 8 bytes, at least 16. Output is key_data.size() + 8 bytes.
Result<Bytes> aes_key_wrap(ByteView kek, ByteView key_data);
// The inverse. DataLoss when the integrity check fails (wrong KEK or altered bytes).
Result<SecretBytes> aes_key_unwrap(ByteView kek, ByteView wrapped);

// A key-encryption key prepared once for many RFC 3394 calls (and for a keybag's zero-IV CBC
// device layer, aes_cbc_encrypt_zero_iv and aes_cbc_decrypt_zero_iv): its AES encrypt and decrypt
// key schedules, each built when first used. A restore or a backup wraps or unwraps one item key
// per item under the same few class keys, and building the schedule was half of each call. Copies
// share the schedules (and the kept key), which are wiped (EVP_CIPHER_CTX_free cleanses) when the
// last copy goes. An empty KeyWrapKey is not usable; one KeyWrapKey and its copies must not be
// used by two threads at once (the engine is single-threaded).
class KeyWrapKey {
 public:
  KeyWrapKey() = default;
  static Result<KeyWrapKey> create(ByteView kek);  // 16, 24 or 32 bytes
  bool empty() const { return schedules_ == nullptr; }

  struct Schedules;  // internal: OpenSSL contexts

 private:
  friend Result<Bytes> aes_key_wrap(const KeyWrapKey& kek, ByteView key_data);
  friend Result<SecretBytes> aes_key_unwrap(const KeyWrapKey& kek, ByteView wrapped);
  friend Result<Bytes> aes_cbc_encrypt_zero_iv(const KeyWrapKey& key, ByteView plaintext);
  friend Result<SecretBytes> aes_cbc_decrypt_zero_iv(const KeyWrapKey& key, ByteView ciphertext);
  std::shared_ptr<const Schedules> schedules_;
};

Result<Bytes> aes_key_wrap(const KeyWrapKey& kek, ByteView key_data);
Result<SecretBytes> aes_key_unwrap(const KeyWrapKey& kek, ByteView wrapped);
// AES-CBC encryption with a zero IV of whole blocks under a prepared key's encrypt schedule (the
// same bytes as aes128_cbc_encrypt_zero_iv for a 16-byte key): a keybag's device layer, one
// schedule for all of its classes instead of a cipher context per class (issue 17).
Result<Bytes> aes_cbc_encrypt_zero_iv(const KeyWrapKey& key, ByteView plaintext);
// Its inverse under the decrypt schedule (the same bytes as aes128_cbc_decrypt_zero_iv): a keybag's
// unlock, one schedule for all of its classes.
Result<SecretBytes> aes_cbc_decrypt_zero_iv(const KeyWrapKey& key, ByteView ciphertext);

// AES-GCM (key 16, 24 or 32 bytes) with an IV of ANY length, the empty IV included (Apple's backup
// export uses it; J0 is then GHASH of the lone length block, i.e. the zero block). 16-byte tags.
// ciphertext_out must be exactly plaintext.size() bytes.
Status aes_gcm_seal(ByteView key, ByteView iv, ByteView aad, ByteView plaintext,
                    std::span<uint8_t> ciphertext_out, std::span<uint8_t, kGcmTagSize> tag_out);
// plaintext_out must be exactly ciphertext.size() bytes; it is wiped when the tag does not match
// (DataLoss), so unauthenticated plaintext never escapes.
Status aes_gcm_open(ByteView key, ByteView iv, ByteView aad, ByteView ciphertext,
                    std::span<const uint8_t, kGcmTagSize> tag, std::span<uint8_t> plaintext_out);

// PBKDF2 (RFC 8018). iterations >= 1; out_len 1..1024. The caller caps iterations: these functions
// do exactly what they are told.
Result<SecretBytes> pbkdf2_hmac_sha256(ByteView password, ByteView salt, uint32_t iterations,
                                       size_t out_len);
Result<SecretBytes> pbkdf2_hmac_sha1(ByteView password, ByteView salt, uint32_t iterations,
                                     size_t out_len);

// AES-128-CBC with a zero IV and no padding: the device-key layer of a keybag. key: 16 bytes; input
// a non-empty multiple of 16 bytes.
Result<Bytes> aes128_cbc_encrypt_zero_iv(ByteView key, ByteView plaintext);
Result<SecretBytes> aes128_cbc_decrypt_zero_iv(ByteView key, ByteView ciphertext);

// SHA-1 of `data` on the digest fetched once (EVP_sha1() in EVP_Digest fetches it on every call:
// a fifth of creating a simulated device's keys; issue 17).
std::array<uint8_t, 20> sha1_digest(ByteView data);

// Key 0x835 as real hardware derives it: AES-256-encrypt one block of sixteen 0x01 bytes with the
// 32-byte UID as the key. The 16-byte result is an AES-128 key.
Result<SecretBytes> derive_device_key_835(ByteView uid);

}  // namespace kcb
