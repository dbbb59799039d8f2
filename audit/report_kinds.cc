#include "audit/report_kinds.h"

namespace kcb::report {
namespace {

// Kinds are enumerators without explicit values, so 0, 1, 2, ... until name_of does not know one.
template <typename Kind>
std::vector<Kind> all_kinds() {
  std::vector<Kind> out;
  for (int i = 0; i < 64; ++i) {
    const Kind kind = static_cast<Kind>(i);
    if (name_of(kind) == "?") break;
    out.push_back(kind);
  }
  return out;
}

}  // namespace

std::vector<ViolationKind> all_violation_kinds() {
  return all_kinds<ViolationKind>();
}

std::vector<WarningKind> all_warning_kinds() {
  return all_kinds<WarningKind>();
}

std::string_view description_of(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::kSurvives:
      return "An item expected to survive a journey and target (expect.survives) is not restored "
             "there";
    case ViolationKind::kNeverLeavesDevice:
      return "An item expected never to leave the device (expect.never_leaves_device) is "
             "restored on another device";
  }
  return "A violated expectation";
}

std::string_view description_of(WarningKind kind) {
  switch (kind) {
    case WarningKind::kDeprecated:
      return "Always or AlwaysThisDeviceOnly: deprecated since iOS 12";
    case WarningKind::kSyncNeverSyncs:
      return "Synchronizable with a ThisDeviceOnly class: the add succeeds, iCloud Keychain never "
             "syncs it (R6)";
    case WarningKind::kAddFails:
      return "SecItemAdd refuses these traits with errSecParam (R9): the item never exists";
    case WarningKind::kPasscodeBound:
      return "WhenPasscodeSetThisDeviceOnly: in no backup or migration, deleted when the passcode "
             "is turned off (R1, R8)";
    case WarningKind::kPairSplits:
      return "The two halves of a key pair come back on different journeys";
    case WarningKind::kIcloudKeychainOnly:
      return "Comes back somewhere only through iCloud Keychain, which users can turn off (R6)";
    case WarningKind::kHalfRestored:
      return "Lost on a journey that brings the app's files back: detect the half-restored state "
             "on first launch";
    case WarningKind::kAppClip:
      return "Added by an App Clip: in no backup and no transfer, in any class (R10)";
    case WarningKind::kPersistentRef:
      return "The app stores a persistent reference that a journey renews or loses (R11): look "
             "the item up by its attributes instead";
  }
  return "A warning of the audit";
}

std::string_view sarif_level(WarningKind kind) {
  switch (kind) {
    case WarningKind::kDeprecated:
    case WarningKind::kSyncNeverSyncs:
    case WarningKind::kAddFails:
    case WarningKind::kPairSplits:
    case WarningKind::kAppClip:
    case WarningKind::kPersistentRef:
      return "warning";
    case WarningKind::kPasscodeBound:
    case WarningKind::kIcloudKeychainOnly:
    case WarningKind::kHalfRestored:
      return "note";
  }
  return "warning";
}

std::string count_of(size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

std::string summary_text(const AuditReport& report, size_t ignored_warnings) {
  size_t failing = 0;
  for (const ItemReport& r : report.items)
    failing += r.violations.empty() ? 0 : 1;
  std::string out = count_of(report.items.size(), "item") + ", " +
                    count_of(report.violation_count(), "violated expectation") + " in " +
                    count_of(failing, "item") + ", " + count_of(report.warning_count(), "warning");
  if (ignored_warnings > 0) out += " (" + std::to_string(ignored_warnings) + " ignored)";
  return out;
}

std::string join_forms(const std::vector<Form>& forms) {
  std::string out;
  for (const Form& f : forms)
    out += (out.empty() ? "" : ", ") + form_name(f);
  return out;
}

}  // namespace kcb::report
