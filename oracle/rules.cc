#include "kcbackup/rules.h"

#include <array>
#include <iterator>
#include <string>

#include "kcbackup/names.h"

namespace kcb::oracle {
namespace {

constexpr std::string_view kSeed =
    "Apple DTS (Quinn), developer-forum thread 'app keychain not getting backed up/restored using "
    "iCloud backup', measured on iOS 12.0.1/12.1.1, Xcode 10.1 (shared/seed)";

constexpr std::array<Rule, std::size(kAllRules)> kRules = {{
    {RuleId::R1, "Export filter",
     "A backup never contains akpu items, items with a token (Secure Enclave keys), system-bound "
     "items, or items whose decryption needs user authentication. Synchronizable items are "
     "exported.",
     Confidence::kSourceCode,
     "securityd export code (akpu and SEP keys 'are intentionally lost across restores'); "
     "skip-ACL-items export flag (auth items: inferred); FreeOTP maintainers on biometry-locked "
     "tokens",
     "iOS 8 on (akpu, access control) and iOS 9 on (Secure Enclave keys), when those features "
     "arrived; read in Apple's Security source, no iOS release pinned; not measured"},
    {RuleId::R2, "Unencrypted local backup",
     "Every keychain class key in the backup keybag is wrapped with a key derived from the source "
     "device's UID: exported items restore to the same device and to no other.",
     Confidence::kDocumented,
     "Apple Platform Security guide ('keychain items migrate to a new device only if a backup "
     "password is set'); measured table (seed)",
     "measured on iOS 12.0.1 and 12.1.1 (seed); the Platform Security guide as currently "
     "published"},
    {RuleId::R3, "Encrypted local backup",
     "Migratory class keys (6-8) are wrapped with the password key only and restore to any device "
     "given the password; ThisDeviceOnly class keys (9-11) also keep the UID layer and restore "
     "only "
     "to the source device. A wrong password restores nothing.",
     Confidence::kDocumented,
     "SecItem.h header comments; Apple developer docs; measured table (seed)",
     "measured on iOS 12.0.1 and 12.1.1 (seed); SecItem.h and Apple's docs as currently published"},
    {RuleId::R4, "iCloud Backup",
     "For the keychain, iCloud Backup acts like an unencrypted local backup: items are wrapped "
     "with "
     "a UID-derived key and restore only to the source device. Advanced Data Protection changes "
     "who "
     "can read the backup, not this.",
     Confidence::kDocumented,
     "Apple Platform Security guide, iCloud Backup section; DTS correction in the seed thread; "
     "measured table (seed)",
     "measured on iOS 12.0.1 and 12.1.1 (seed); the Platform Security guide as currently published "
     "(Advanced Data Protection: iOS 16.2 on)"},
    {RuleId::R5, "Quick Start",
     "Direct device-to-device migration moves non-ThisDeviceOnly items and not ThisDeviceOnly "
     "items.",
     Confidence::kDocumented,
     "Apple DTS; reported disagreements: seed (AlwaysThisDeviceOnly after transfer), "
     "keychain-swift#153",
     "iOS 12.4 on (direct device-to-device migration arrived then): Apple DTS; not measured"},
    {RuleId::R6, "iCloud Keychain",
     "A synchronizable item of a migratory class with no token and no access-control constraint "
     "appears on the user's other devices that have iCloud Keychain on. ThisDeviceOnly "
     "synchronizable items are accepted but never synced.",
     Confidence::kDocumented,
     "kSecAttrSynchronizable docs; Security framework sync engine skips device-bound items",
     "iOS 7 on (kSecAttrSynchronizable arrived then): Apple's docs as currently published; not "
     "measured"},
    {RuleId::R7, "Restore replaces",
     "Restoring deletes the target's non-synchronizable items (synchronizable and system-bound "
     "items stay), then imports the backup. An item that fails to decrypt is dropped alone. The "
     "backup keybag UUID must match the archive's, else the restore fails as a whole.",
     Confidence::kSourceCode, "securityd keychain import/restore code",
     "Apple's Security source, no iOS release pinned; not measured"},
    {RuleId::R8, "Passcode",
     "An akpu item cannot be added on a device without a passcode (errSecAuthFailed, -25293). "
     "Turning the passcode off deletes every akpu item.",
     Confidence::kDocumented,
     "kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly docs; securityd (error code)",
     "iOS 8 on (WhenPasscodeSetThisDeviceOnly arrived then): Apple's docs as currently published"},
    {RuleId::R9, "Add-time checks",
     "An item with an access-control constraint cannot be synchronizable (errSecParam, -50). A "
     "duplicate primary key fails with errSecDuplicateItem (-25299). A Secure Enclave token is for "
     "EC P-256 private keys in class keys only.",
     Confidence::kSourceCode, "securityd SecItemAdd checks; kSecAttrTokenIDSecureEnclave docs",
     "iOS 8 on (access control) and iOS 9 on (Secure Enclave tokens): Apple's Security source and "
     "docs, no iOS release pinned"},
    {RuleId::R10, "App Clips",
     "Items an App Clip added (clip = 1) are never exported to a backup, in any class. Quick "
     "Start uses the same export (inferred). R10 restricts the export only: a synchronizable App "
     "Clip item still follows R6.",
     Confidence::kSourceCode,
     "Security framework export query (skip App Clip items); Apple's KeychainBackupTests "
     "testAppClipDoesNotBackup",
     "iOS 14 on (App Clips arrived then): Apple's Security source and KeychainBackupTests, no iOS "
     "release pinned"},
    {RuleId::R11, "Persistent references",
     "A persistent reference is old-style (class name + 8-byte big-endian rowid, 12 bytes) or "
     "UUID-based (class name + 16-byte UUID, 20 bytes). A restore re-inserts each item with the "
     "rowid or UUID of its backup v_PersistentRef, so a stored reference resolves whenever the "
     "item is restored; it is renewed when the rowid is taken on the target, or when the target "
     "uses UUID references and the backup carried an old-style one. Which iOS version turned "
     "UUID references on by default is not public.",
     Confidence::kSourceCode,
     "Security framework SecItemServer import (v_PersistentRef); Apple's KeychainBackupTests "
     "testSecItemBackupAndRestoreWithPersistentRefs, "
     "testSecItemRestoreBackupOldStylePrefsAndAddUUIDPersistentRefs",
     "Apple's Security source and KeychainBackupTests, no iOS release pinned; which iOS version "
     "turned UUID references on is not public"},
    {RuleId::R12, "What restore itself filters",
     "Independently of the export filter, a restore skips system-bound items and token items of "
     "the backup (iOS 9 and 10.0 backups contained token items). The target's own system-bound "
     "items are exported before the restore and put back after it, keeping their persistent "
     "references.",
     Confidence::kSourceCode,
     "Security framework SecServerImportKeychainInPlist; Apple's KeychainBackupTests "
     "testSecItemRestoreSysboundBackupAndUpdateUUIDPersistentRefs",
     "Apple's Security source and KeychainBackupTests, no iOS release pinned; token items are in "
     "backups of iOS 9 and 10.0"},
    {RuleId::R13, "Conflicts with items already on the target",
     "The target's synchronizable items are not deleted before the import (R7); a backup item "
     "with the same primary key as one of them is skipped and the target's version (data and "
     "persistent reference) stays: the item is kept, not lost.",
     Confidence::kSourceCode,
     "Security framework SecServerImportKeychainInPlist (insert fails on the duplicate); Apple's "
     "KeychainBackupTests testSecItemRestoreConflictedUUIDPersistentReferenceItems",
     "Apple's Security source and KeychainBackupTests, no iOS release pinned"},
    {RuleId::R14, "The archive a restore accepts",
     "keybag-uuid is compared with the backup keybag's UUID only when present; a mismatch fails "
     "the restore. An unknown top-level key, or a class whose value is neither an array nor a "
     "dictionary, is ignored with a warning; a dictionary stands for one item; an identity class "
     "or an item that is not a dictionary fails the restore; an item that does not decrypt is "
     "skipped alone.",
     Confidence::kSourceCode, "Security framework SecServerImportKeychainInPlist and its helpers",
     "Apple's Security source, no iOS release pinned; backup folders of iOS 10.2 on (formats.md)"},
    {RuleId::R15, "Tombstones",
     "Tombstones (markers of deleted synchronizable items, tomb = 1) are exported to backups only "
     "while the legacy iCloud Keychain sync circle (SOS) is enabled on the device. A tombstone is "
     "not a readable item.",
     Confidence::kSourceCode,
     "Security framework export filter; Apple's KeychainBackupTests "
     "testBackupTombstonesWhenSOSEnabled, testBackupAvoidsTombstonesWhenSOSDisabled",
     "Apple's Security source and KeychainBackupTests, no iOS release pinned"},
}};

constexpr std::array<MeasuredRow, 12> kMeasured = {{
    {Accessibility::kWhenUnlocked, Journey::kLocal, Target::kSameDevice, Outcome::kRestored, kSeed},
    {Accessibility::kWhenUnlocked, Journey::kLocal, Target::kOtherDevice, Outcome::kLost, kSeed},
    {Accessibility::kWhenUnlocked, Journey::kLocalEncrypted, Target::kSameDevice,
     Outcome::kRestored, kSeed},
    {Accessibility::kWhenUnlocked, Journey::kLocalEncrypted, Target::kOtherDevice,
     Outcome::kRestored, kSeed},
    {Accessibility::kWhenUnlocked, Journey::kIcloudBackup, Target::kSameDevice, Outcome::kRestored,
     kSeed},
    {Accessibility::kWhenUnlocked, Journey::kIcloudBackup, Target::kOtherDevice, Outcome::kLost,
     kSeed},
    {Accessibility::kWhenUnlockedThisDeviceOnly, Journey::kLocal, Target::kSameDevice,
     Outcome::kRestored, kSeed},
    {Accessibility::kWhenUnlockedThisDeviceOnly, Journey::kLocal, Target::kOtherDevice,
     Outcome::kLost, kSeed},
    {Accessibility::kWhenUnlockedThisDeviceOnly, Journey::kLocalEncrypted, Target::kSameDevice,
     Outcome::kRestored, kSeed},
    {Accessibility::kWhenUnlockedThisDeviceOnly, Journey::kLocalEncrypted, Target::kOtherDevice,
     Outcome::kLost, kSeed},
    {Accessibility::kWhenUnlockedThisDeviceOnly, Journey::kIcloudBackup, Target::kSameDevice,
     Outcome::kRestored, kSeed},
    {Accessibility::kWhenUnlockedThisDeviceOnly, Journey::kIcloudBackup, Target::kOtherDevice,
     Outcome::kLost, kSeed},
}};

// A note whose text starts "reported:" is a user report that disagrees with the verdict: kept,
// never decisive.
struct NoteEntry {
  Note note;
  std::string_view text;
};
constexpr std::array<NoteEntry, kNoteCount> kNotes = {{
    {Note::kIcloudKeychainAssumedOff,
     "iCloud Keychain was not specified, so this answers for 'off' (users can opt out); if both "
     "devices had it on, this item would come back via icloud-keychain (R6)."},
    {Note::kIcloudKeychainOptedOut,
     "This item would sync through iCloud Keychain, but the user has it off (R6)."},
    {Note::kSyncThisDeviceOnlyNeverSyncs,
     "A synchronizable ThisDeviceOnly item is accepted by SecItemAdd but never syncs: the sync "
     "engine skips device-bound items (R6)."},
    {Note::kAdvancedDataProtection,
     "Advanced Data Protection does not change this: it changes who can read the backup, not the "
     "UID wrapping of the keychain (R4; the seed's last post reports items still lost with it "
     "on)."},
    {Note::kReportedQuickStartThisDeviceOnly,
     "reported: the seed thread reports an AlwaysThisDeviceOnly item surviving a phone-to-phone "
     "transfer; not reproduced by a first-party source, so not the verdict (R5)."},
    {Note::kReportedIcloudRestoreThisDeviceOnly,
     "reported: keychain-swift#153 reports ThisDeviceOnly items present after an iCloud restore; "
     "kept as a note, not the verdict (R5)."},
    {Note::kPasscodeRemovalDeletes, "Turning the passcode off deletes this item (R8)."},
    {Note::kAddFailsNoPasscode,
     "SecItemAdd fails with errSecAuthFailed (-25293) on a device without a passcode: the item "
     "never exists (R8)."},
    {Note::kAddFailsAuthSync,
     "SecItemAdd fails with errSecParam (-50): an access-control constraint cannot be "
     "synchronizable, so the item never exists (R9)."},
    {Note::kAddFailsTokenClass,
     "SecItemAdd fails with errSecParam (-50): a Secure Enclave token is only for EC P-256 private "
     "keys in class keys, so the item never exists (R9)."},
    {Note::kQuickStartRoadIsTransfer,
     "On quick-start, road 'backup' means the direct device-to-device transfer (R5)."},
    {Note::kSecureEnclaveNeverLeaves,
     "A Secure Enclave key exists only inside that device's Secure Enclave; if its public key was "
     "stored without ThisDeviceOnly, the pair splits on migration (R1)."},
    {Note::kAuthConstraintSkipped,
     "Items that need user authentication to decrypt are skipped by the export query (R1, "
     "inferred from the skip-ACL-items flag; FreeOTP reports the same)."},
    {Note::kAppClipNeverExported,
     "An App Clip's items are never exported to a backup, in any class (R10); Quick Start uses "
     "the same export (inferred)."},
    {Note::kAppClipSyncFollowsR6,
     "R10 restricts the export to backups only and no source says the sync engine skips App Clip "
     "items, so this synchronizable App Clip item follows R6 (inferred)."},
    {Note::kSystemBoundPutBack,
     "The backup never carries a system-bound item (R1), but a restore onto the device that holds "
     "it, without an erase, puts it back (R12); after an erase it is gone."},
    {Note::kTombstoneNotReadable,
     "A tombstone marks a deleted synchronizable item: no app can read it, so it is never "
     "restored as an item (R15)."},
    {Note::kTombstoneInBackup,
     "The legacy sync circle (SOS) is on: the backup carries this tombstone, as a marker (R15)."},
    {Note::kTombstoneNotInBackup,
     "The backup leaves this tombstone out: SOS is off, or the export filter skips it (R15)."},
    {Note::kCollisionTargetKept,
     "The target already holds an item with this primary key that the restore does not delete: "
     "the backup's copy is skipped and the target's version (its data and persistent reference) "
     "stays (R13)."},
    {Note::kCollisionTombstone,
     "The target holds a tombstone with this primary key: the backup's copy is skipped and no "
     "readable item remains (R13, R15; inferred)."},
    {Note::kUuidRefsVersionNotPublic,
     "Which iOS version turned UUID-based persistent references on by default is not public: "
     "the answer depends on the kinds the devices hand out (R11)."},
    {Note::kRefRenewedUuid,
     "The backup carried an old-style (rowid) reference and the target hands out UUID-based "
     "ones: the item gets a new reference (R11)."},
    {Note::kRefRenewedRowidTaken,
     "The item's rowid is already taken on the target: it gets a new rowid, so a new reference "
     "(R11)."},
    {Note::kRefRenewedBySync,
     "An item that arrives through iCloud Keychain is a new row on the target, with a reference "
     "of its own (R11; inferred, the sync carries no persistent reference)."},
    {Note::kRefRenewedRowidTarget,
     "The backup carried a UUID-based reference and the target hands out old-style ones: the "
     "item gets a rowid reference (R11; inferred, no Apple test covers it)."},
}};

}  // namespace

std::span<const Rule> rules() {
  return kRules;
}
const Rule& rule(RuleId id) {
  return kRules[static_cast<size_t>(id)];
}
std::string_view note_text(Note note) {
  return kNotes[static_cast<size_t>(note)].text;
}
std::span<const MeasuredRow> measured_table() {
  return kMeasured;
}

std::string ios_versions_text(RuleSet rules) {
  std::string out;
  for (RuleId id : kAllRules) {
    if (!rules.has(id)) continue;
    out += (out.empty() ? "" : "; ") + std::string(name_of(id)) + ": " +
           std::string(rule(id).ios_versions);
  }
  return out;
}

}  // namespace kcb::oracle
