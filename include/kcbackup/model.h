// The shared vocabulary of kcbackup: the domain types that the oracle reasons about and the engine
// simulates. Data only: no rule lives here (rules are in oracle/, mechanisms in engine/). Names,
// pdmn codes and key-class numbers come from the one name table in model/names.h.
#pragma once

#include <cstdint>

namespace kcb {

// kSecAttrAccessible... in the order of rules.md's vocabulary table.
enum class Accessibility : uint8_t {
  kWhenUnlocked,                    // ak, class 6
  kAfterFirstUnlock,                // ck, class 7
  kAlways,                          // dk, class 8 (deprecated since iOS 12)
  kWhenUnlockedThisDeviceOnly,      // aku, class 9
  kAfterFirstUnlockThisDeviceOnly,  // cku, class 10
  kAlwaysThisDeviceOnly,            // dku, class 11 (deprecated)
  kWhenPasscodeSetThisDeviceOnly,   // akpu, class 12
};
inline constexpr Accessibility kAllAccessibilities[] = {
    Accessibility::kWhenUnlocked,
    Accessibility::kAfterFirstUnlock,
    Accessibility::kAlways,
    Accessibility::kWhenUnlockedThisDeviceOnly,
    Accessibility::kAfterFirstUnlockThisDeviceOnly,
    Accessibility::kAlwaysThisDeviceOnly,
    Accessibility::kWhenPasscodeSetThisDeviceOnly,
};

enum class ItemClass : uint8_t { kGenp, kInet, kCert, kKeys };
inline constexpr ItemClass kAllItemClasses[] = {ItemClass::kGenp, ItemClass::kInet,
                                                ItemClass::kCert, ItemClass::kKeys};

enum class Token : uint8_t { kNone, kSecureEnclave };

// kSecAttrSysBound, column `sysb`: items the OS keeps to the device. The one kind Apple's restore
// knows, "preserve during restore", is exported from the target before a restore and put back
// after it (R12); such an item never goes into a backup (R1).
enum class SystemBound : uint8_t { kNone, kPreserveDuringRestore };
inline constexpr SystemBound kAllSystemBounds[] = {SystemBound::kNone,
                                                   SystemBound::kPreserveDuringRestore};

// What an item is, as far as backup, restore and migration care.
struct Traits {
  Accessibility accessible = Accessibility::kWhenUnlocked;  // the OS default
  ItemClass item_class = ItemClass::kGenp;
  bool synchronizable = false;   // kSecAttrSynchronizable, column `sync`
  Token token = Token::kNone;    // kSecAttrTokenID, column `tkid`
  bool auth_constraint = false;  // kSecAttrAccessControl with user presence/biometry/passcode
  SystemBound system_bound = SystemBound::kNone;  // column `sysb` (R1, R12)
  bool app_clip = false;   // column `clip` = 1: added by an App Clip, never exported (R10)
  bool tombstone = false;  // column `tomb` = 1: marker of a deleted synchronizable item (R15)
  bool operator==(const Traits&) const = default;
};

enum class Journey : uint8_t {
  kLocal,           // Finder/iTunes backup without a password
  kLocalEncrypted,  // Finder/iTunes backup with a password
  kIcloudBackup,    // iCloud Backup (with or without Advanced Data Protection)
  kQuickStart,      // device-to-device migration while setting up a new phone
  kIcloudKeychain,  // sync to the user's other devices
};
inline constexpr Journey kAllJourneys[] = {Journey::kLocal, Journey::kLocalEncrypted,
                                           Journey::kIcloudBackup, Journey::kQuickStart,
                                           Journey::kIcloudKeychain};

enum class Target : uint8_t {
  kSameDevice,   // same hardware UID, including after "Erase All Content and Settings"
  kOtherDevice,  // a different phone
};
inline constexpr Target kAllTargets[] = {Target::kSameDevice, Target::kOtherDevice};

// Quick Start and iCloud Keychain always bring items to another phone: asking either with
// same-device is a question without an answer (rules.md), not a verdict.
constexpr bool has_same_device_form(Journey j) {
  return j != Journey::kQuickStart && j != Journey::kIcloudKeychain;
}

// A journey with the target it is asked for: "local-encrypted:other-device".
struct Form {
  Journey journey = Journey::kLocal;
  Target target = Target::kSameDevice;
  bool operator==(const Form&) const = default;
};
constexpr bool is_answerable(const Form& f) {
  return f.target == Target::kOtherDevice || has_same_device_form(f.journey);
}
// Every answerable form, journeys in kAllJourneys order, same-device before other-device.
inline constexpr Form kAllForms[] = {
    {Journey::kLocal, Target::kSameDevice},
    {Journey::kLocal, Target::kOtherDevice},
    {Journey::kLocalEncrypted, Target::kSameDevice},
    {Journey::kLocalEncrypted, Target::kOtherDevice},
    {Journey::kIcloudBackup, Target::kSameDevice},
    {Journey::kIcloudBackup, Target::kOtherDevice},
    {Journey::kQuickStart, Target::kOtherDevice},
    {Journey::kIcloudKeychain, Target::kOtherDevice},
};

// Whether the user's devices have iCloud Keychain on. Unspecified is a question that did not say.
enum class Switch : uint8_t { kUnspecified, kOff, kOn };

// The persistent references a device hands out (R11): old-style, the 4-byte class name + the
// 8-byte big-endian rowid (12 bytes), or the class name + a 16-byte UUID (20 bytes).
enum class PersistentRefKind : uint8_t { kRowid, kUuid };
inline constexpr PersistentRefKind kAllPersistentRefKinds[] = {PersistentRefKind::kRowid,
                                                               PersistentRefKind::kUuid};

struct DeviceSettings {
  bool passcode = true;                           // the source device has a passcode
  Switch icloud_keychain = Switch::kUnspecified;  // on both devices, off, or not said
  PersistentRefKind persistent_refs = PersistentRefKind::kRowid;         // the source's kind
  PersistentRefKind target_persistent_refs = PersistentRefKind::kRowid;  // the target's, at restore
  bool sos = false;  // the source device is in the legacy SOS sync circle (R15)
  bool operator==(const DeviceSettings&) const = default;
};

// restored: present and readable on the target afterwards, brought by the road; lost: not there;
// kept: R13, a backup item collided with the target's own synchronizable item, which stays.
enum class Outcome : uint8_t { kRestored, kLost, kKept };
enum class Road : uint8_t { kBackup, kIcloudKeychain, kNone };

// How we know. Ordered strongest first.
enum class Confidence : uint8_t { kMeasured, kDocumented, kSourceCode, kInferred, kReported };

// The rules of rules.md, by id.
enum class RuleId : uint8_t { R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13, R14, R15 };
inline constexpr RuleId kAllRules[] = {RuleId::R1,  RuleId::R2,  RuleId::R3,  RuleId::R4,
                                       RuleId::R5,  RuleId::R6,  RuleId::R7,  RuleId::R8,
                                       RuleId::R9,  RuleId::R10, RuleId::R11, RuleId::R12,
                                       RuleId::R13, RuleId::R14, RuleId::R15};

// What happens to a persistent reference an app stored before a journey (R11): it still resolves
// (kept), the item is there under a new reference (renewed), or there is no item (none).
enum class RefFate : uint8_t { kKept, kRenewed, kNone };

// Remarks a verdict can carry; their text is the oracle's (oracle/rules.h). An enum rather than
// strings so that a prediction allocates nothing.
enum class Note : uint8_t {
  kIcloudKeychainAssumedOff,      // the question did not say; with it on the item would sync back
  kIcloudKeychainOptedOut,        // the sync road exists for this item but the user turned it off
  kSyncThisDeviceOnlyNeverSyncs,  // R6: synchronizable + ThisDeviceOnly is accepted, never synced
  kAdvancedDataProtection,        // R4: ADP does not change keychain survival
  kReportedQuickStartThisDeviceOnly,  // R5 reported: seed's AlwaysThisDeviceOnly survived transfer
  kReportedIcloudRestoreThisDeviceOnly,  // R5 reported: keychain-swift#153
  kPasscodeRemovalDeletes,               // R8: turning the passcode off deletes akpu items
  kAddFailsNoPasscode,                   // R8: errSecAuthFailed, the item never exists
  kAddFailsAuthSync,                     // R9: errSecParam, access control + synchronizable
  kAddFailsTokenClass,                   // R9: errSecParam, Secure Enclave token outside class keys
  kQuickStartRoadIsTransfer,             // road "backup" on quick-start means the direct transfer
  kSecureEnclaveNeverLeaves,             // R1: the private key exists only in that Secure Enclave
  kAuthConstraintSkipped,     // R1 (inferred): the export query skips auth-constrained items
  kAppClipNeverExported,      // R10: an App Clip's items are in no backup and no transfer
  kAppClipSyncFollowsR6,      // R10 restricts the export only; the sync road is R6's (inferred)
  kSystemBoundPutBack,        // R12: a restore in place puts the device's own item back
  kTombstoneNotReadable,      // R15: a tombstone marks a deletion; no app can read it
  kTombstoneInBackup,         // R15: SOS on, the backup carries the tombstone
  kTombstoneNotInBackup,      // R15: SOS off (or R1/R10), the backup leaves it out
  kCollisionTargetKept,       // R13: the target's own synchronizable item stays
  kCollisionTombstone,        // R13+R15: the target's tombstone blocks the backup's copy
  kUuidRefsVersionNotPublic,  // R11: which iOS turned UUID references on is not public
  kRefRenewedUuid,            // R11: old-style reference, the target hands out UUID ones
  kRefRenewedRowidTaken,      // R11: the rowid is taken on the target
  kRefRenewedBySync,          // R6/R11: an item that arrives by sync is a new row
  kRefRenewedRowidTarget,     // R11 (inferred): UUID reference, the target hands out old-style
};
inline constexpr int kNoteCount = 26;

// A small set of rule ids or notes, as bits: order of iteration is the enum's order.
template <typename E>
struct EnumSet {
  uint32_t bits = 0;
  void add(E e) { bits |= 1u << static_cast<unsigned>(e); }
  bool has(E e) const { return (bits >> static_cast<unsigned>(e)) & 1u; }
  bool empty() const { return bits == 0; }
  bool operator==(const EnumSet&) const = default;
};
using RuleSet = EnumSet<RuleId>;
using NoteSet = EnumSet<Note>;

struct Verdict {
  Outcome outcome = Outcome::kLost;
  Road road = Road::kNone;
  RuleSet rules;  // the rules that decided
  Confidence confidence = Confidence::kInferred;
  NoteSet notes;  // context, including `reported` disagreements
  bool operator==(const Verdict&) const = default;
};

// Outcome of SecItemAdd as the rules predict it (R8, R9), and of SecItemUpdate/SecItemDelete on a
// missing item. Values are Apple's OSStatus codes.
enum class AddError : int32_t {
  kNone = 0,
  kParam = -50,             // errSecParam
  kAuthFailed = -25293,     // errSecAuthFailed
  kDuplicateItem = -25299,  // errSecDuplicateItem
  kItemNotFound = -25300,   // errSecItemNotFound (update and delete only)
};

}  // namespace kcb
