// What a real backup folder holds, item by item, with the two answers side by side: each keychain
// item's fate on a restore to the same device and to another one according to the oracle, and what
// the engine can actually unwrap for each of those targets with the keys the user has. `kcbackup
// inspect backup` prints this report and `kcbackup audit --backup` audits the items of one access
// group from it. Lives in the harness because it is the one place where the oracle and the engine
// meet; it prints nothing.
//
// How the engine's side is found, by mechanism only:
//   same device   the class keys the backup opened with (the password or its key, and the
//                 --device's key 0x835 for the classes with the device layer): the item's blob is
//                 opened with its class key. Without --device, an item of a class with the device
//                 layer is unknown (needs the source device), not lost.
//   other device  the bag unlocked again with the same password key and the key 0x835 of a fresh
//                 simulated device: the device layer has no integrity check, so its class keys come
//                 out wrong and the items' blobs do not open; the password-only classes open.
// The oracle's side needs the item's traits: all of them when the item decodes, else only its
// accessibility from the blob header (unauthenticated) with every other trait at its default, said
// as traits_from_header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/model.h"
#include "kcbackup/random.h"
#include "kcbackup/status.h"

namespace kcb {

class Device;
class OpenedBackup;
struct OpenedBackupFolder;  // kcbackup/backup_keys.h

// Apple's names of the data-protection classes a file or a keybag class has: 1 "Complete",
// 2 "CompleteUnlessOpen", 3 "CompleteUntilFirstUserAuthentication", 4 "None", 6-11 the keychain
// classes' ("WhenUnlocked", ...); "" for 5 (no public name) and numbers no class has.
std::string_view protection_class_name(uint32_t protection_class);
// "3 CompleteUntilFirstUserAuthentication", or the number alone.
std::string protection_class_text(uint32_t protection_class);

// Files per domain, from Manifest.db (flags 1: files; folders and symlinks are not counted).
struct DomainCount {
  std::string domain;
  size_t files = 0;
  uint64_t recorded_bytes = 0;  // the sum of the MBFile Size fields, as recorded (never trusted)
};

// A class of the backup keybag and who can open it.
struct ReportedClass {
  uint32_t class_number = 0;
  uint32_t wrap = 0;
  // The password (or its key) alone opens it: no device layer, and the password was right. What a
  // stranger with the password gets, without the source device.
  bool opens_with_password_alone = false;
  bool unlocked = false;  // with everything given (the --device too)
  std::string locked_reason;
};

// How far the engine got with one item for one target.
enum class UnwrapState : uint8_t {
  kUnwraps,      // "unwraps": the class key opened the blob and the item decoded
  kDoesNotOpen,  // "does-not-open": the class key is there but does not open the blob
  kLocked,       // "locked": the class key is not available for this target
  kMalformed,    // "malformed": the blob or its attributes do not parse
  kUnknown,      // "unknown": the target's key was not given (same device without --device)
};
std::string_view name_of(UnwrapState state);

struct EngineSide {
  UnwrapState state = UnwrapState::kUnknown;
  std::string detail;  // why, when it does not unwrap
};

struct ReportedItem {
  ItemClass item_class = ItemClass::kGenp;
  size_t index = 0;                   // in its class array of keychain-backup.plist
  std::optional<uint32_t> key_class;  // from the blob header, when it parses
  // The item's traits: complete when decoded (same-device keys), else from the header only.
  std::optional<Traits> traits;
  bool traits_from_header = false;
  bool decoded = false;  // the attributes below are known
  std::string access_group;
  Bytes account;
  Bytes service;
  std::string persistent_ref_kind;  // "rowid", "uuid" or "malformed"
  std::optional<Verdict> oracle_same;
  std::optional<Verdict> oracle_other;
  EngineSide engine_same;
  EngineSide engine_other;
};

struct BackupReport {
  Journey journey = Journey::kLocal;  // the Manifest's Journey, else by IsEncrypted
  bool encrypted = false;
  std::vector<DomainCount> domains;  // sorted by domain
  size_t file_count = 0;             // every Files row
  std::vector<ReportedClass> classes;
  std::vector<ReportedItem> items;  // archive order: class by class
  // The --device is not the backup's source (another UniqueDeviceID), the keychain's reader
  // warnings, items whose persistent reference does not parse.
  std::vector<std::string> warnings;
  size_t undecoded_count() const;
};

struct BackupReportOptions {
  // The device the backup was opened with (its key 0x835), or nullptr.
  const Device* device = nullptr;
  // The password the backup was opened with, when the caller had no key: the other-device trial
  // needs it only if the backup kept no password key (OpenedBackup::password_key() empty).
  std::string password;
};

// `random` makes the other-device trial's fresh UID. Errors are the keychain's (Corruption for a
// malformed or missing keychain-backup.plist); per-item problems are in the items.
Result<BackupReport> report_backup(const OpenedBackup& backup, const BackupReportOptions& options,
                                   Random& random);

// The decoded items whose access group is `access_group`, in the report's order (for `audit
// --backup`). Items that did not decode have no known group: undecoded_count() says how many.
std::vector<const ReportedItem*> items_of_access_group(const BackupReport& report,
                                                       std::string_view access_group);
// The access groups of the decoded items, sorted, each once (what `audit --backup` offers when
// the group asked for is not there).
std::vector<std::string> decoded_access_groups(const BackupReport& report);

// report_backup of a folder open_backup_folder opened, with what opened it (its device and
// password); errors with the folder's path in front.
Result<BackupReport> report_backup(const OpenedBackupFolder& opened, Random& random);

}  // namespace kcb
