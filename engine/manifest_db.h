// Manifest.db, the index of a real backup folder (shared/design/formats.md, "Backup folder"):
//
//   Files(fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB)
//   + indexes FilesDomainIdx, FilesRelativePathIdx, FilesFlagsIdx; Properties(key, value)
//
// with the schema text Apple's devices write, and fileID = lowercase hex SHA-1 of
// domain + "-" + relativePath. Both directions work on bytes in memory: the writer builds the
// database in an in-memory SQLite and returns sqlite3_serialize's image; the reader deserializes
// the caller's bytes (read-only; never a decrypted copy on disk) the way SQLite's "Defense Against
// the Dark Arts" says for untrusted files: SQLITE_DBCONFIG_DEFENSIVE, trusted_schema off, triggers
// and views off, tight sqlite3_limit()s, cell_size_check on, no mmap, and the whole schema checked
// against the expected one before any query touches Files. Errors name the row (by fileID) and
// the column: "Manifest.db: Files row 3 (fileID 51a4...): flags: expected an integer, found text".
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/status.h"

namespace kcb {

// Files.flags.
inline constexpr uint32_t kManifestFile = 1;
inline constexpr uint32_t kManifestDirectory = 2;
inline constexpr uint32_t kManifestSymlink = 4;

inline constexpr std::string_view kKeychainDomain = "KeychainDomain";
inline constexpr std::string_view kKeychainRelativePath = "keychain-backup.plist";

// SHA-1 of domain + "-" + relative_path, and its lowercase hex (40 characters): the fileID.
inline constexpr size_t kFileDigestSize = 20;
using FileDigest = std::array<uint8_t, kFileDigestSize>;
FileDigest file_digest_of(std::string_view domain, std::string_view relative_path);
std::string file_id_of(std::string_view domain, std::string_view relative_path);
// digest -> a row's 0-based ordinal, open addressing in one array (no allocation per row: the
// node-based unordered containers were a third of listing a 100k-file folder). A digest is
// computed by us from the row's text, never taken from the file, so its first bytes are as good a
// hash as any and no writer can choose them to collide.
class FileDigestIndex {
 public:
  // False, and no change, when the digest is already there.
  bool insert(const FileDigest& digest, size_t row);
  std::optional<size_t> find(const FileDigest& digest) const;
  size_t size() const { return size_; }
  void reserve(size_t rows);

 private:
  struct Slot {
    FileDigest digest{};
    size_t row_plus_one = 0;  // 0: empty
  };
  size_t slot_of(const FileDigest& digest) const;  // where it is, or the empty slot it would take
  void rehash(size_t slot_count);
  std::vector<Slot> slots_;  // a power of two, at most half full
  size_t size_ = 0;
};

struct ManifestFile {
  std::string domain;
  std::string relative_path;
  uint32_t flags = kManifestFile;
  Bytes file;  // the MBFile archive (engine/mbfile.h), kept as bytes: decoded by the caller
  bool operator==(const ManifestFile&) const = default;
};

struct ManifestDb {
  std::vector<ManifestFile> files;                        // in the table's row order
  std::vector<std::pair<std::string, Bytes>> properties;  // Properties(key, value)
  bool operator==(const ManifestDb&) const = default;
};

struct ManifestDbLimits {
  size_t max_bytes = size_t{2} << 30;  // the database image
  size_t max_files = 1'000'000;        // Files rows; a real phone has tens of thousands
  size_t max_properties = 1024;
  size_t max_value_bytes = 256 << 10;  // one file record, one text, one property value
};

// One Files row as the reader hands it to a visitor, every check of read_manifest_db passed: the
// views point into SQLite's row and are valid only during the call.
struct ManifestRowView {
  size_t row = 0;            // 1-based, in the table's order
  std::string_view file_id;  // the lowercase hex of digest
  FileDigest digest{};       // SHA-1 of domain-relativePath, computed once here
  std::string_view domain;
  std::string_view relative_path;
  uint32_t flags = kManifestFile;
  ByteView file;  // the MBFile archive, not decoded
};
using ManifestRowVisitor = std::function<Status(const ManifestRowView&)>;

// InvalidArgument for two files with the same domain and path, or text that is not UTF-8.
Result<Bytes> write_manifest_db(const ManifestDb& db);
// The same image handed to `seal` while SQLite still holds it, and what `seal` makes of it
// returned: an encrypted backup's CBC reads SQLite's copy instead of a copy of its own (32 KiB per
// backup; issue 17). write_manifest_db is this with a plain copy.
using ManifestDbSeal = std::function<Result<Bytes>(ByteView image)>;
Result<Bytes> write_manifest_db(const ManifestDb& db, const ManifestDbSeal& seal);
Result<ManifestDb> read_manifest_db(ByteView bytes, const ManifestDbLimits& limits = {});
// The same reader without the copies: each Files row handed to `visit` as it is stepped (an error
// from it stops the scan and is returned), then Properties read into `properties` (checked even
// when nullptr).
// `index`, when given, ends up holding every row's digest -> its 0-based ordinal: the table the
// reader refuses twins with, handed over instead of built twice.
Status scan_manifest_db(ByteView bytes, const ManifestDbLimits& limits,
                        const ManifestRowVisitor& visit,
                        std::vector<std::pair<std::string, Bytes>>* properties = nullptr,
                        FileDigestIndex* index = nullptr);
// The same, taking over a plaintext image the caller is done with (it is not copied again, and
// it is wiped when the scan ends).
Status scan_manifest_db(SecretBytes&& image, const ManifestDbLimits& limits,
                        const ManifestRowVisitor& visit,
                        std::vector<std::pair<std::string, Bytes>>* properties = nullptr,
                        FileDigestIndex* index = nullptr);

// Readers and writers take their SQLite connection from this thread's idle ones and give it back
// holding no database (issue 17); how many are idle now, for tests.
size_t idle_manifest_db_connections();
// For tests: the pragmas the reader has SQLite read `image` under, through the reader's own
// set-up (on an idle connection when there is one), as
// "cell_size_check=1 query_only=1 trusted_schema=0" (mmap_size has no value to read back in
// SQLite's in-memory VFS).
Result<std::string> manifest_reader_pragmas(ByteView image);

}  // namespace kcb
