#include "kcbackup/rules.h"

#include <array>

namespace kcb::oracle {
namespace {

constexpr std::string_view kSeed =
    "Apple DTS (Quinn), developer-forum thread 'app keychain not getting backed up/restored using "
    "iCloud backup', measured on iOS 12.0.1/12.1.1, Xcode 10.1 (shared/seed)";

constexpr std::array<Rule, 9> kRules = {{
    {RuleId::R1, "Export filter",
     "A backup never contains akpu items, items with a token (Secure Enclave keys), system-bound "
     "items, or items whose decryption needs user authentication. Synchronizable items are "
     "exported.",
     Confidence::kSourceCode,
     "securityd export code (akpu and SEP keys 'are intentionally lost across restores'); "
     "skip-ACL-items export flag (auth items: inferred); FreeOTP maintainers on biometry-locked "
     "tokens"},
    {RuleId::R2, "Unencrypted local backup",
     "Every keychain class key in the backup keybag is wrapped with a key derived from the source "
     "device's UID: exported items restore to the same device and to no other.",
     Confidence::kDocumented,
     "Apple Platform Security guide ('keychain items migrate to a new device only if a backup "
     "password is set'); measured table (seed)"},
    {RuleId::R3, "Encrypted local backup",
     "Migratory class keys (6-8) are wrapped with the password key only and restore to any device "
     "given the password; ThisDeviceOnly class keys (9-11) also keep the UID layer and restore "
     "only "
     "to the source device. A wrong password restores nothing.",
     Confidence::kDocumented,
     "SecItem.h header comments; Apple developer docs; measured table (seed)"},
    {RuleId::R4, "iCloud Backup",
     "For the keychain, iCloud Backup acts like an unencrypted local backup: items are wrapped "
     "with "
     "a UID-derived key and restore only to the source device. Advanced Data Protection changes "
     "who "
     "can read the backup, not this.",
     Confidence::kDocumented,
     "Apple Platform Security guide, iCloud Backup section; DTS correction in the seed thread; "
     "measured table (seed)"},
    {RuleId::R5, "Quick Start",
     "Direct device-to-device migration moves non-ThisDeviceOnly items and not ThisDeviceOnly "
     "items.",
     Confidence::kDocumented,
     "Apple DTS; reported disagreements: seed (AlwaysThisDeviceOnly after transfer), "
     "keychain-swift#153"},
    {RuleId::R6, "iCloud Keychain",
     "A synchronizable item of a migratory class with no token and no access-control constraint "
     "appears on the user's other devices that have iCloud Keychain on. ThisDeviceOnly "
     "synchronizable items are accepted but never synced.",
     Confidence::kDocumented,
     "kSecAttrSynchronizable docs; Security framework sync engine skips device-bound items"},
    {RuleId::R7, "Restore replaces",
     "Restoring deletes the target's non-synchronizable items (synchronizable and system-bound "
     "items stay), then imports the backup. An item that fails to decrypt is dropped alone. The "
     "backup keybag UUID must match the archive's, else the restore fails as a whole.",
     Confidence::kSourceCode, "securityd keychain import/restore code"},
    {RuleId::R8, "Passcode",
     "An akpu item cannot be added on a device without a passcode (errSecAuthFailed, -25293). "
     "Turning the passcode off deletes every akpu item.",
     Confidence::kDocumented,
     "kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly docs; securityd (error code)"},
    {RuleId::R9, "Add-time checks",
     "An item with an access-control constraint cannot be synchronizable (errSecParam, -50). A "
     "duplicate primary key fails with errSecDuplicateItem (-25299). A Secure Enclave token is for "
     "EC P-256 private keys in class keys only.",
     Confidence::kSourceCode, "securityd SecItemAdd checks; kSecAttrTokenIDSecureEnclave docs"},
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

}  // namespace kcb::oracle
