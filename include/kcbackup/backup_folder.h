// A backup as a real Finder / iTunes / idevicebackup2 folder (iOS 10.2 and later; docs/formats.md,
// "Backup folder"):
//
//   Info.plist        XML: Target Identifier (the UDID), Product Type/Version, Device Name, ...
//   Manifest.plist    binary: BackupKeyBag, ManifestKey (encrypted only), IsEncrypted, Lockdown,
//                     Version, Date, WasPasscodeSet, and our own Journey key (readers ignore it)
//   Manifest.db       SQLite index of every file (engine/manifest_db.h); AES-256-CBC under the
//                     ManifestKey when encrypted, plain otherwise
//   Status.plist      SnapshotState "finished": written last, the folder's commit mark
//   XX/<fileID>       one blob per file, fileID = SHA-1(domain-relativePath); the keychain is
//                     51/51a4616e576dd33cd2abadfea874eb8ff246bf0e. Encrypted backups seal each
//                     blob with its own key, wrapped under its protection class's key
//
// The backup keybag is VERS 5 with classes 1-11 (formats.md's WRAP table): an unencrypted backup
// derives its password classes from the empty password and keeps the source device's layer on
// classes 5-11, so its keychain items need the source device's key 0x835 (R2/R4); an encrypted one
// keeps it only on 5 and 9-11 (R3/R5).
//
// Readers meet folders written by anyone: a real Mac, idevicebackup2, a forensic tool, an attacker.
// Every size is capped, every field a real writer may add and we do not use is ignored, every field
// we need is checked and a wrong one named ("Manifest.db: Files row 3 (fileID 51a4...): ..."); a
// file the Manifest lists that is not in the folder is Corruption (invalid input, exit 2), not an
// I/O error; a Manifest.mbdb folder (iOS 9 and older) is Unsupported. Nothing decrypted is written
// to disk.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/archive.h"
#include "kcbackup/bytes.h"
#include "kcbackup/device.h"
#include "kcbackup/env.h"
#include "kcbackup/kdf.h"
#include "kcbackup/status.h"

namespace kcb {

struct UnlockedKeybag;  // engine/keybag.h

// File names inside a backup folder.
inline constexpr const char* kInfoPlistName = "Info.plist";
inline constexpr const char* kManifestPlistName = "Manifest.plist";
inline constexpr const char* kManifestDbName = "Manifest.db";
inline constexpr const char* kStatusPlistName = "Status.plist";
inline constexpr const char* kManifestMbdbName = "Manifest.mbdb";  // iOS 9 and older: refused

// Where a folder's files come from: a folder on disk, or a writer's output in memory (the harness,
// the properties and the fuzzers read through the same code without touching a disk).
class FolderSource {
 public:
  virtual ~FolderSource() = default;
  // `name` is relative to the folder: "Manifest.plist", "51/51a4...". NotFound when absent;
  // ResourceExhausted past max_bytes.
  virtual Result<Bytes> read(std::string_view name, size_t max_bytes) const = 0;
};

// A folder in memory: each file's bytes by its name.
struct BackupFolder final : FolderSource {
  std::map<std::string, Bytes, std::less<>> files;
  Result<Bytes> read(std::string_view name, size_t max_bytes) const override;
};

// A folder on disk, read through `env` (which must outlive it).
class DiskFolder final : public FolderSource {
 public:
  DiskFolder(Env& env, std::filesystem::path dir) : env_(env), dir_(std::move(dir)) {}
  Result<Bytes> read(std::string_view name, size_t max_bytes) const override;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  Env& env_;
  std::filesystem::path dir_;
};

// Writes every file through `env` into `dir` (created; a non-empty folder is refused): the blobs,
// Info.plist, Manifest.db and Manifest.plist, each atomically, then Status.plist last, so a crash
// leaves a folder that readers refuse as unfinished, never one that looks complete.
Status write_backup_folder(Env& env, const std::filesystem::path& dir, const BackupFolder& folder);

// The source device as Lockdown describes it.
struct LockdownInfo {
  std::string unique_device_id;  // 40 hex digits (Device::unique_device_id)
  std::string product_type;      // "iPhone14,2"
  std::string product_version;   // "17.5"
  std::string build_version;
  std::string device_name;
  std::string serial_number;
  bool operator==(const LockdownInfo&) const = default;
};

// Manifest.plist.
struct Manifest {
  Bytes backup_keybag;  // BackupKeyBag: the keybag TLV
  // ManifestKey, encrypted backups only: 4-byte little-endian protection class + 40-byte RFC 3394
  // wrap of Manifest.db's 32-byte key under that class's key.
  std::optional<Bytes> manifest_key;
  bool is_encrypted = false;
  LockdownInfo lockdown;
  std::string version;  // "10.0"
  int64_t date = 0;     // Unix seconds
  bool was_passcode_set = false;
  // Our own key for journeys with no real folder (icloud-backup) and for the simulated ones;
  // empty in a folder someone else wrote (then local or local-encrypted, by IsEncrypted).
  std::string journey;
  bool operator==(const Manifest&) const = default;
};
Bytes write_manifest(const Manifest& manifest);
Result<Manifest> read_manifest(ByteView bytes);
// A folder's Manifest.plist, read and parsed: Corruption "Manifest.plist: missing: not a backup
// folder" when the folder has none (what a command asks before it knows whether to ask for a
// password).
Result<Manifest> read_folder_manifest(const FolderSource& folder);

// The backup key file of `kcbackup unlock --key-out` / `--key-file`: the 32-byte derived password
// key as 64 lowercase hex digits and a newline. The reader accepts either case and one trailing
// newline; anything else is InvalidArgument saying what it found.
Bytes backup_key_file_text(const SecretBytes& key);
Result<SecretBytes> parse_backup_key_file(ByteView text);

// Status.plist.
struct BackupStatus {
  std::string snapshot_state = "finished";  // anything else: the backup did not complete
  bool is_full_backup = true;
  std::string uuid;  // 8-4-4-4-12
  int64_t date = 0;
  std::string version = "3.3";
  bool operator==(const BackupStatus&) const = default;
};
Bytes write_backup_status(const BackupStatus& status);
Result<BackupStatus> read_backup_status(ByteView bytes);

// What a file's MBFile record says that a listing shows.
struct FileRecordFacts {
  uint64_t size = 0;  // as recorded: never trusted
  uint32_t protection_class = 0;
  bool has_encryption_key = false;
};

// A file the Manifest lists. Its record's facts (size, protection_class, has_encryption_key) are
// here when the folder was opened with decode_records (the default; record_decoded is then true);
// otherwise they are 0 and OpenedBackup::record decodes and checks them when asked.
// One Files row, as the OpenedBackup that listed it holds it: the views point into that
// OpenedBackup (one buffer for every name, no allocation per row) and live as long as it does.
struct BackupFileEntry {
  std::array<uint8_t, 20> file_digest{};  // SHA-1 of "domain-relativePath": the fileID's bytes
  std::string_view domain;
  std::string_view relative_path;
  uint32_t flags = 1;  // 1 file, 2 folder, 4 symlink
  bool record_decoded = false;
  uint64_t size = 0;  // as recorded: never trusted
  uint32_t protection_class = 0;
  bool has_encryption_key = false;
  std::string file_id() const;    // the fileID: 40 lowercase hex digits, "51a4..."
  std::string blob_name() const;  // "51/51a4..."
};

struct BackupOpenOptions {
  std::string password;  // encrypted backups
  // The derived password key (`kcbackup unlock --key-out`), instead of the password: the KDF is
  // not run. Wrong for this bag: PermissionDenied as for a wrong password.
  std::optional<SecretBytes> password_key;
  // Its key 0x835 opens the classes with the device layer (WRAP & 1): the restore's target, or
  // the device an inspection is told is the source. nullptr: those classes stay locked.
  const Device* device = nullptr;
  KeybagLimits keybag_limits;
  size_t max_manifest_db_bytes = size_t{2} << 30;
  size_t max_files = 1'000'000;
  ArchiveLimits archive_limits;
  // Every row's MBFile record decoded and checked by open() (a bad one fails the open). false:
  // open() checks each row's SQLite columns and fileID only, and a record is decoded and checked
  // when it is first needed (read_file, record), with the same error naming the row and field.
  // What a restore uses: it needs the records of the files it reads, not of the folders.
  bool decode_records = true;
  // Info.plist read for info() (false: info() is nullopt). Nothing is decided by it, so a restore
  // does not read it.
  bool read_info = true;
  // Called between long stages ("deriving the password key", "reading Manifest.db", "files").
  std::function<void(std::string_view stage, size_t done, size_t total)> progress;
};

// Whether a class of the backup keybag opened.
struct BackupClassState {
  uint32_t class_number = 0;
  uint32_t wrap = 0;
  bool unlocked = false;
  std::string locked_reason;  // "needs the source device (--device)", ...
};

// A folder with its keybag unlocked as far as the options allow and its Manifest.db read.
// PermissionDenied for a wrong or missing password (or key); Corruption for a folder that fails
// validation; Unsupported for Manifest.mbdb. The folder must outlive the OpenedBackup: files are
// read from it when asked for.
class OpenedBackup {
 public:
  static Result<OpenedBackup> open(const FolderSource& folder, const BackupOpenOptions& options);
  OpenedBackup(OpenedBackup&&) noexcept;
  OpenedBackup& operator=(OpenedBackup&&) noexcept;
  ~OpenedBackup();

  const Manifest& manifest() const;
  // Info.plist's facts, when it had them and the options asked for them (read_info).
  const std::optional<LockdownInfo>& info() const;
  const BackupStatus& status() const;
  const std::vector<BackupFileEntry>& files() const;
  const BackupFileEntry* find(std::string_view domain, std::string_view relative_path) const;
  std::vector<BackupClassState> classes() const;
  // 32 bytes: what `unlock --key-out` writes; empty when no class needed a password key.
  const SecretBytes& password_key() const;
  // The backup keybag's UUID, 8-4-4-4-12 (what keybag-uuid must name, R7/R14).
  std::string keybag_uuid() const;

  // The entry's record facts: as open() decoded them, or decoded now (decode_records false),
  // Corruption naming the row and the field when the record is bad. `entry` is one of files().
  Result<FileRecordFacts> record(const BackupFileEntry& entry) const;

  // One file's plaintext: its blob read, decrypted with its own key (encrypted backups) and its
  // PKCS#7 padding checked. A listed blob missing from the folder is Corruption.
  Result<SecretBytes> read_file(const BackupFileEntry& entry, size_t max_bytes) const;
  // The keychain (KeychainDomain/keychain-backup.plist) parsed; Corruption when the Manifest has
  // no such file.
  Result<KeychainArchive> read_keychain() const;
  // The class keys, for the engine's restore and inspection (engine/keybag.h).
  const UnlockedKeybag& keys() const;

  struct State;  // engine/backup_folder.cc

 private:
  friend Result<BackupFolder> with_keychain_file(const BackupFolder&, ByteView,
                                                 const BackupOpenOptions&);
  explicit OpenedBackup(std::unique_ptr<State> state);
  size_t index_of(const BackupFileEntry& entry) const;
  std::unique_ptr<State> state_;
};

// The folder with its keychain file replaced by `keychain` (sealed under that file's own key when
// the backup is encrypted), every other file byte for byte: what anyone who can open the backup
// can do to it. Tests and tools use it to pair one backup's keychain with another's folder or to
// edit an item. Errors as OpenedBackup::open's, or Corruption when the folder has no keychain.
Result<BackupFolder> with_keychain_file(const BackupFolder& folder, ByteView keychain,
                                        const BackupOpenOptions& options);

}  // namespace kcb
