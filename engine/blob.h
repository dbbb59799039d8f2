// The encrypted item blob of a keychain backup (v_Data, version 3). All integers little-endian u32:
//   version = 3 | keyclass | wrapped_key_len = 40 | wrapped_key (40) | ciphertext | tag (16)
// A fresh 32-byte item key encrypts the plaintext (the item's DER dictionary) with AES-256-GCM, an
// EMPTY IV and no AAD; the item key is wrapped with the 32-byte class key by RFC 3394.
// parse_blob checks structure only and names the offending offset; open_blob does the cryptography.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/crypto.h"
#include "kcbackup/bytes.h"
#include "kcbackup/random.h"
#include "kcbackup/status.h"

namespace kcb {

inline constexpr uint32_t kBlobVersion = 3;
inline constexpr size_t kBlobHeaderSize = 12;  // version, keyclass, wrapped_key_len
inline constexpr size_t kItemKeySize = 32;
inline constexpr size_t kWrappedItemKeySize = 40;
inline constexpr size_t kBlobTagSize = 16;
inline constexpr size_t kBlobOverhead = kBlobHeaderSize + kWrappedItemKeySize + kBlobTagSize;
// Keychain items are small; anything larger is refused before any work is done.
inline constexpr size_t kMaxBlobSize = size_t{16} << 20;

// The key class number in a blob's keyclass field (the one place that knows the mask).
uint32_t key_class_of(uint32_t keyclass_field);

// A structurally valid blob: views into the bytes given to parse_blob, which must outlive it.
struct ParsedBlob {
  uint32_t keyclass_field = 0;  // as stored, flags included
  uint32_t key_class = 0;       // key_class_of(keyclass_field)
  ByteView wrapped_key;         // 40 bytes
  ByteView ciphertext;          // may be empty
  ByteView tag;                 // 16 bytes
};

// Corruption (truncated, wrong wrapped_key_len), Unsupported (version other than 3),
// ResourceExhausted (larger than kMaxBlobSize); the message names the byte offset.
Result<ParsedBlob> parse_blob(ByteView blob);

// Seals plaintext under a fresh item key drawn from random. keyclass_field is written as given.
// class_key: 32 bytes.
Result<Bytes> seal_blob(uint32_t keyclass_field, ByteView class_key, ByteView plaintext,
                        Random& random);
// The same with the class key's schedules prepared (UnlockedKeybag::kek_for), for loops over items.
Result<Bytes> seal_blob(uint32_t keyclass_field, const KeyWrapKey& class_key, ByteView plaintext,
                        Random& random);

// DataLoss when the item key fails its RFC 3394 integrity check: a wrong class key (the item is
// "gone" on this device), or altered wrapped-key bytes, which look the same. Corruption when the
// item key unwraps but the GCM tag does not match: the key is right (RFC 3394 vouches for it), so
// the ciphertext or tag was altered. The keyclass field is not authenticated, as in Apple's format.
Result<SecretBytes> open_blob(const ParsedBlob& blob, ByteView class_key);
Result<SecretBytes> open_blob(const ParsedBlob& blob, const KeyWrapKey& class_key);

}  // namespace kcb
