// Backup, restore and Quick Start: how keychain items leave one device and arrive on another.
//
// Backup writes a real backup folder (kcbackup/backup_folder.h) in memory: the keychain file, the
// device's app files, Manifest.db, Manifest.plist, Status.plist and Info.plist.
// The export filter drops akpu items, Secure Enclave (token) keys, auth-constrained and
// system-bound items (R1), App Clip items (R10) and, unless the device is in the SOS circle,
// tombstones (R15): the query Apple's export runs. Every other item is decrypted with the device's
// class key and re-sealed as a v3 blob under a fresh backup keybag, with its persistent reference
// (in the device's kind) as v_PersistentRef. The journey decides only how that bag's class keys
// (1-11, formats.md) are wrapped:
//   local, icloud-backup     classes 1-4 WRAP 2 (the empty password: files are not encrypted
//                            anyway), 5-11 WRAP 3 (device layer + empty password): the keychain's
//                            items are readable only with the source device's key 0x835
//   local-encrypted,         classes 1-4 and 6-8 WRAP 2 (password only); 5 and 9-11 WRAP 3
//   quick-start              (password and the source device's key)
// Whether an item comes back anywhere is then decided by cryptography alone.
//
// Restore opens the folder (OpenedBackup) and validates everything it can before changing anything
// (Manifest, Status, bag structure and caps, password, Manifest.db, the keychain file, UUID), then,
// in one SQLite transaction (an error leaves the target exactly as it was):
//   1. deletes every row that is neither synchronizable nor system-bound (R7) and takes the
//      system-bound ones that are not synchronizable aside (R12, as Apple's restore exports them);
//   2. imports the backup item by item, in archive order: a failure to decrypt drops that item
//   alone,
//      with its reason; system-bound and token items are skipped (R12); the others are re-inserted
//      with the reference their v_PersistentRef carries when the target hands out that kind and it
//      is free there (R11: an old-style reference is the rowid itself, a UUID-based one the UUID),
//      else as new rows (next rowid, and a fresh UUID on a target with UUID references); an item
//      whose primary key a synchronizable item of the target holds is not inserted: the target's
//      item, its data and its reference stay, and the backup item is `kept` (R13);
//   3. puts the rows of step 1 back, re-inserted by the same rule with the reference they had
//      (unchanged unless the import took the rowid or the device's kind changed since).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/bytes.h"
#include "kcbackup/device.h"
#include "kcbackup/kdf.h"
#include "kcbackup/model.h"
#include "kcbackup/random.h"
#include "kcbackup/status.h"

namespace kcb {

struct BackupOptions {
  Journey journey = Journey::kLocal;  // local, local-encrypted, icloud-backup or quick-start
  std::string password;               // required (non-empty) for local-encrypted and quick-start
  // Real counts by default (DPIC 10,000,000, ITER 10,000): what protects the user's password.
  // Tests and the demo pass small counts through the same code path.
  KeybagKdf kdf;
};

// Unlocks a keybag of a backup (engine/keybag.h's Keybag, for restore and inspection): classes
// wrapped with a password (WRAP & 2) with `password` (PermissionDenied when wrong), the device
// layer (WRAP & 1) with `device`'s key 0x835, which never leaves the engine. With no device the
// classes that have that layer are returned locked.
Result<UnlockedKeybag> unlock_keybag_for(const Keybag& bag, ByteView password,
                                         const Device* device);
// The same with a password key from derive_password_key (empty when no class needs one), to pay
// for the KDF once or to leave the password classes of a filtered bag out.
Result<UnlockedKeybag> unlock_keybag_with_password_key_for(const Keybag& bag, ByteView password_key,
                                                           const Device* device);

// An item the export filter kept on the device, and the rule that kept it.
struct LeftOnDevice {
  ItemClass item_class = ItemClass::kGenp;
  int64_t rowid = 0;
  std::string account;
  std::string service;
  std::string rule;    // "R1", "R10" or "R15"
  std::string reason;  // "WhenPasscodeSetThisDeviceOnly never leaves the device", ...
};

struct BackupSummary {
  size_t items = 0;  // in the backup's keychain file
  std::vector<LeftOnDevice> left_on_device;
  size_t unreadable = 0;  // rows the device itself cannot decrypt: no backup carries them
};

// The folder in memory (write_backup_folder puts it on disk), with source.app_files(). `summary`,
// when given, says what went into it and what stayed.
Result<BackupFolder> make_backup(Device& source, const BackupOptions& options, Random& random,
                                 BackupSummary* summary = nullptr);

// Why an item did not come back.
enum class LossReason {
  kNone,
  kCorrupt,              // the blob or its dictionary is malformed
  kNoClassKey,           // the backup has no key for the item's class
  kClassKeyUnavailable,  // the class key does not open the item key here (wrong device, altered)
  kRefusedByDevice,      // the target's SecItemAdd refused it (no passcode, bad parameters, ...)
  kSystemBound,          // R12: a restore never imports a system-bound item
  kToken,                // R12: nor an item with a token (old backups, iOS 9 and 10.0, had them)
  kDuplicateInBackup,    // an earlier item of the same backup has its primary key
};
std::string_view loss_reason_name(LossReason reason);

struct ItemFate {
  ItemClass item_class = ItemClass::kGenp;
  size_t index = 0;  // position in its class array of the archive
  std::string account;
  std::string service;
  std::string label;
  std::optional<Accessibility> accessible;   // when the item could be decoded
  std::optional<uint32_t> header_key_class;  // the blob header's, when it parsed (unauthenticated)
  bool restored = false;
  // R13: not restored, because the target's own synchronizable item with this primary key (R7 kept
  // it) stays, its data and its reference; it is on the device afterwards: not a loss.
  bool kept = false;
  LossReason reason = LossReason::kNone;  // kNone unless lost
  std::string detail;                     // the precise error for a lost item
  Bytes backup_ref;                       // v_PersistentRef as the backup carried it
  Bytes persistent_ref;  // restored or kept: the item's reference on the target afterwards
  Outcome outcome() const;
  bool operator==(const ItemFate&) const = default;
};

struct RestoreReport {
  std::vector<ItemFate> items;
  // Items R7 deleted from the target: neither synchronizable nor system-bound. Not the target items
  // a backup item collided with (they stay: R13), nor the system-bound ones (put back: R12).
  int64_t replaced = 0;
  std::vector<std::string> warnings;  // from the archive reader; R12 rows not put back
  // Quick Start only: the source's items its export filter kept home (R1, R10, R15), which never
  // reached the transfer and so have no fate above. A restore of a folder cannot know them.
  std::vector<LeftOnDevice> left_on_device;
  size_t restored_count() const;
  size_t kept_count() const;
};

struct RestoreOptions {
  std::string password;  // ignored for backups that are not encrypted
  // The derived password key (`kcbackup unlock --key-out`) instead of the password.
  std::optional<SecretBytes> password_key;
  KeybagLimits keybag_limits;
};

// PermissionDenied for a wrong or missing password; Corruption for a folder that fails validation
// (keybag, Manifest.db, a missing file, UUID mismatch); Unsupported for an iOS 9 folder; IOError
// from the folder or the store. On any error the target is unchanged.
Result<RestoreReport> restore_backup(const FolderSource& folder, Device& target,
                                     const RestoreOptions& options, Random& random);

// The restore of a backup's keychain without the folder around it: `manifest` is its
// Manifest.plist (BackupKeyBag and IsEncrypted decide, as in restore_backup) and `archive` its
// KeychainDomain/keychain-backup.plist as read_keychain_archive reads the plaintext a tool that
// decrypts a backup's files leaves. Everything restore_backup does once it has read that file is
// done the same way, with the same rules, report and errors; what it checks of the folder
// (Status.plist, Manifest.db, every file's key and padding) is not there to check. The fuzz target
// restore uses it; the folder target fuzzes restore_backup.
Result<RestoreReport> restore_keychain_archive(const Manifest& manifest,
                                               const KeychainArchive& archive, Device& target,
                                               const RestoreOptions& options, Random& random);

// Quick Start (R5): a one-time encrypted transfer from `from` to a new device `to`, wrapped like an
// encrypted backup under a random one-time password. InvalidArgument when both devices have the
// same UID: that is not another device. A lost item's fate names its blob header's key class.
// The report's left_on_device names the source's items the export filter kept home.
Result<RestoreReport> quick_start(Device& from, Device& to, const KeybagKdf& kdf, Random& random);

}  // namespace kcb
