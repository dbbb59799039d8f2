// Auditing an app's keychain items: each item's fate on every journey and target according to the
// oracle, the app's expectations checked against those fates (a violation is what makes
// `kcbackup audit` exit 1), and warnings that never fail a run: deprecated classes, items that
// never sync or cannot be added, passcode-bound items, key pairs that split, items that reach a
// new phone only through iCloud Keychain, App Clip items, stored persistent references that a
// journey renews or loses, and the half-restored state when app files come back without their keys
// (rules.md, "What developers hit in practice"). docs/audit.md is the user's guide; the ids of
// warnings and violations below appear in its JSON output and never change.
//
// The input document is JSON, or an XML or binary property list of the same structure, read by
// the strict reader of input/: every error is one Status naming the field path
// ("items[2].accessible: unknown accessibility 'foo'; ..."), InvalidArgument or, for sizes and
// nesting, ResourceExhausted. Depends on model, oracle and input only; prints nothing.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/model.h"
#include "kcbackup/oracle.h"
#include "kcbackup/status.h"

namespace kcb {

// Caps on hostile input. Real apps store tens of items; these leave room without risk.
inline constexpr size_t kMaxAuditFileBytes = 1 << 20;
inline constexpr size_t kMaxAuditItems = 1000;
inline constexpr size_t kMaxAuditNesting = 16;
inline constexpr size_t kMaxAuditStringBytes = 256;
inline constexpr size_t kMaxAuditExpectations = 32;

// A keychain wrapper library and the kSecAttrAccessible value it uses when the app passes none.
struct Wrapper {
  std::string_view name;                            // "keychainaccess", as given to --wrapper
  std::string_view library;                         // "KeychainAccess"
  std::optional<Accessibility> default_accessible;  // nullopt: the library requires a choice
};
std::span<const Wrapper> wrappers();
// Case, ' ', '-' and '_' do not matter; an unknown name is an InvalidArgument listing the known.
Result<const Wrapper*> find_wrapper(std::string_view name);

// Where an item's accessibility came from, so reports can say "the wrapper's default".
enum class AccessibleFrom {
  kExplicit,        // "explicit": the document names it
  kOsDefault,       // "os-default": no wrapper, so the OS default (WhenUnlocked)
  kWrapperDefault,  // "wrapper-default"
};
std::string_view name_of(AccessibleFrom from);

// "local-encrypted:other-device" in any spelling names.h accepts; a journey with no same-device
// form asked with same-device is an InvalidArgument.
Result<Form> parse_form(std::string_view text);
std::string form_name(const Form& f);  // canonical "local-encrypted:other-device"

struct AuditItem {
  std::string name;
  Traits traits;
  AccessibleFrom accessible_from = AccessibleFrom::kOsDefault;
  std::vector<Form> survives;          // each must be `restored`
  bool never_leaves_device = false;    // restored on no other-device form
  std::optional<size_t> pair;          // index of the other half of a key pair, both ways
  bool stores_persistent_ref = false;  // the app keeps its kSecReturnPersistentRef result (R11)
  // Where the item's object starts in the document ('{' or <dict>): line and column from 1, the
  // column in Unicode code points. 0 when there is no text to point into (a binary property list,
  // an item found in a backup).
  size_t line = 0;
  size_t column = 0;
};

struct AuditInput {
  Switch icloud_keychain = Switch::kUnspecified;  // the user's assumption, for every item
  std::vector<AuditItem> items;
};

// The document's bytes (at most kMaxAuditFileBytes) into items, with names, pairs and defaults
// resolved. `wrapper` may be null: an omitted accessibility is then the OS default. Keys
// "comment" and "x-..." are for people and ignored at every level, whatever their type. Errors in
// the text itself (size, syntax, a key given twice) are prefixed with `source`, the file's name
// ("items.json: ..."); errors of a field name its path alone.
Result<AuditInput> parse_audit_document(ByteView bytes, const Wrapper* wrapper,
                                        std::string_view source = {});

enum class ViolationKind {
  kSurvives,           // "survives": an expected form is not `restored`
  kNeverLeavesDevice,  // "never-leaves-device": restored on an other-device form
};
std::string_view name_of(ViolationKind kind);

enum class WarningKind {
  kDeprecated,          // "deprecated": an Always class (deprecated since iOS 12)
  kSyncNeverSyncs,      // "sync-never-syncs": synchronizable with a ThisDeviceOnly class (R6)
  kAddFails,            // "add-fails": SecItemAdd refuses the traits with errSecParam (R9)
  kPasscodeBound,       // "passcode-bound": WhenPasscodeSetThisDeviceOnly (R1, R8)
  kPairSplits,          // "pair-splits": the halves of a key pair come back on different forms
  kIcloudKeychainOnly,  // "icloud-keychain-only": restored somewhere only by sync (R6)
  kHalfRestored,        // "half-restored": lost where the app's files come back
  kAppClip,             // "app-clip": an App Clip's item, in no backup or transfer (R10)
  kPersistentRef,       // "persistent-ref": a stored reference renewed or lost somewhere (R11)
};
std::string_view name_of(WarningKind kind);

// A violated expectation: the form it was about and the oracle's verdict there.
struct Violation {
  ViolationKind kind;
  oracle::Fate fate;
  std::string message;
};

struct Warning {
  WarningKind kind;
  std::string message;
};

struct ItemReport {
  AuditItem item;
  std::array<oracle::Fate, std::size(kAllForms)> fates;  // kAllForms order
  std::vector<Violation> violations;
  std::vector<Warning> warnings;
};

struct AuditReport {
  Switch icloud_keychain = Switch::kUnspecified;
  std::vector<ItemReport> items;  // the input's order
  size_t violation_count() const;
  size_t warning_count() const;
  bool ok() const { return violation_count() == 0; }
};

// Pure: the oracle's fates, the checks and the warnings for every item.
AuditReport audit(const AuditInput& input);

// An item found in a real backup (`kcbackup audit --backup`): the app's real traits instead of a
// hand-written document, and no expectations (an audit of what is there: its warnings and fates).
struct FoundItem {
  Bytes account;
  Bytes service;
  Traits traits;
};
// Each item named "account @ service" (as printable text; "(none)" for an empty one), a name that
// recurs made unique as "name #2", "name #3"; accessibility explicit. ResourceExhausted past
// kMaxAuditItems, like a document.
Result<AuditInput> audit_input_of_found(std::span<const FoundItem> items,
                                        Switch icloud_keychain = Switch::kUnspecified);

}  // namespace kcb
