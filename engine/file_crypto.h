// The file-blob cipher of a real backup folder (shared/design/formats.md, "Backup folder"): every
// file of an encrypted backup, and Manifest.db itself, is AES-256-CBC with a zero IV and PKCS#7
// padding that is always present (a plaintext of 32 bytes becomes 48). Keys are 32 bytes (a file's
// own key, or the ManifestKey), InvalidArgument otherwise.
//
// The decrypting side sees bytes whoever made the backup chose: a ciphertext whose length is not
// a non-zero multiple of 16, or whose last block does not end in valid padding, is Corruption
// naming the document and the byte offset. CBC has no integrity check, so a wrong key usually
// shows up as bad padding too (and one time in about 256 as plausible garbage): callers that can
// tell (SQLite's header, a plist's magic) check the plaintext as well.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kcbackup/bytes.h"
#include "kcbackup/status.h"

namespace kcb {

inline constexpr size_t kFileKeySize = 32;

// AES-256-CBC over whole blocks, no padding, with an explicit IV: the core of the functions below,
// public so the NIST SP 800-38A vectors can check it. key: 32 bytes; input: a multiple of 16 bytes
// (InvalidArgument otherwise; empty input gives empty output).
Result<Bytes> aes256_cbc_encrypt_blocks(ByteView key, std::span<const uint8_t, 16> iv,
                                        ByteView plaintext);
Result<SecretBytes> aes256_cbc_decrypt_blocks(ByteView key, std::span<const uint8_t, 16> iv,
                                              ByteView ciphertext);

// Zero IV, PKCS#7 padding of 1..16 bytes appended: output is plaintext.size() rounded up to the
// next multiple of 16, plus 16 when already a multiple.
Result<Bytes> encrypt_file_blob(ByteView key, ByteView plaintext);
// The inverse; `what` names the blob in errors ("Manifest.db: 33 bytes: a partial AES block at
// offset 32"; "KeychainDomain/keychain-backup.plist: bad PKCS#7 padding: byte 0x00 at offset 47").
// The padding is stripped, nothing else is cut: a recorded Size is not consulted.
Result<SecretBytes> decrypt_file_blob(ByteView key, ByteView ciphertext, std::string_view what);

}  // namespace kcb
