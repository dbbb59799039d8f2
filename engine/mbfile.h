// The MBFile record of a real backup folder's Manifest.db (shared/design/formats.md, "Backup
// folder"): each row's `file` column is an NSKeyedArchiver binary property list of one MBFile,
//
//   { $archiver: "NSKeyedArchiver", $version: 100000, $top: { root: UID },
//     $objects: [ "$null", { RelativePath: UID, Size, Mode, ..., $class: UID }, ... ] }
//
// where every UID is an index into $objects chosen by whoever wrote the file. encode_mbfile writes
// the layout Apple's devices write (MVT's iOS 14 Manifest.db has it object for object);
// decode_mbfile reads one written by anyone: $objects bounded, every UID checked against it, UID
// chains and cycles refused, every field's type checked, unknown fields ignored. Errors are
// Corruption (ResourceExhausted for a cap, Unsupported for another $version) and name the field:
// "MBFile: EncryptionKey: UID 9 past $objects (7)".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kcbackup/bytes.h"
#include "kcbackup/status.h"

namespace kcb {

inline constexpr size_t kFileWrappedKeySize = 40;  // RFC 3394 wrap of a 32-byte file key
inline constexpr size_t kFileEncryptionKeySize = 4 + kFileWrappedKeySize;

// EncryptionKey's NS.data: 4-byte little-endian protection class, then the wrapped file key.
struct FileEncryptionKey {
  uint32_t protection_class = 0;
  Bytes wrapped_key;  // kFileWrappedKeySize bytes
  bool operator==(const FileEncryptionKey&) const = default;
};

struct MBFile {
  std::string relative_path;  // required; "" is the domain's root folder
  uint64_t size = 0;          // as recorded; readers must not trust it (formats.md)
  uint32_t mode = 0;          // st_mode: 0100644 file, 040755 folder, 0120755 symlink
  uint32_t user_id = 0;
  uint32_t group_id = 0;
  uint64_t inode_number = 0;
  uint32_t flags = 0;
  int64_t birth = 0;  // Unix seconds, as real writers record them
  int64_t last_modified = 0;
  int64_t last_status_change = 0;
  uint32_t protection_class = 0;                    // 0 for folders and symlinks
  std::optional<FileEncryptionKey> encryption_key;  // encrypted backups, regular files
  std::optional<std::string> target;                // symlinks
  std::optional<Bytes> digest;                      // SHA-1 in some backups; kept as found
  bool operator==(const MBFile&) const = default;
};

struct MBFileLimits {
  size_t max_bytes = 256 << 10;  // a real one is under 2 KiB
  size_t max_objects = 1024;     // a real one has 4 to 7
  size_t max_depth = 8;          // UID hops and NS.data / NS.string wrappers per field
};

// Asserts what the decoder would refuse (a wrapped key of the wrong size, text that is not UTF-8):
// the engine only encodes records it built.
Bytes encode_mbfile(const MBFile& file);
// A binary record is read in place (input/property_list.h's BinaryPlist), an XML one through
// libplist's tree.
Result<MBFile> decode_mbfile(ByteView bytes, const MBFileLimits& limits = {});
// The same decoder on libplist's tree whatever the form, for tests and the mbfile fuzz target:
// wherever libplist parses a binary record, both readings give the same record or the same error.
Result<MBFile> decode_mbfile_through_libplist(ByteView bytes, const MBFileLimits& limits = {});

}  // namespace kcb
