// audit(): the oracle's fates of every item, the app's expectations checked against them, and the
// warnings (include/kcbackup/audit.h). The messages are the report's text: they cite the rules of
// rules.md by id, and kcbackup prints them as they are.
#include <algorithm>

#include "kcbackup/audit.h"
#include "kcbackup/names.h"
#include "kcbackup/rules.h"

namespace kcb {
namespace {

using oracle::Fate;

const Fate& fate_at(const ItemReport& r, const Form& form) {
  const auto it =
      std::find_if(r.fates.begin(), r.fates.end(), [&](const Fate& f) { return f.form == form; });
  KCB_ASSERT(it != r.fates.end());  // parse_form admits only answerable forms
  return *it;
}

bool restored(const Fate& f) {
  return f.verdict.outcome == Outcome::kRestored;
}
bool to_other_device(const Fate& f) {
  return f.form.target == Target::kOtherDevice;
}

// "lost (R1 Export filter, R3 Encrypted local backup)"
std::string verdict_phrase(const Verdict& v) {
  std::string out(name_of(v.outcome));
  if (v.outcome == Outcome::kRestored) out += " via " + std::string(name_of(v.road));
  std::string rules;
  for (RuleId id : kAllRules) {
    if (!v.rules.has(id)) continue;
    rules += rules.empty() ? "" : ", ";
    rules += std::string(name_of(id)) + " " + std::string(oracle::rule(id).title);
  }
  return rules.empty() ? out : out + " (" + rules + ")";
}

std::string join_forms(const std::vector<Form>& forms) {
  std::string out;
  for (const Form& f : forms)
    out += (out.empty() ? "" : ", ") + form_name(f);
  return out;
}

void check_expectations(ItemReport& r) {
  for (const Form& form : r.item.survives) {
    const Fate& f = fate_at(r, form);
    if (restored(f)) continue;
    r.violations.push_back(
        {ViolationKind::kSurvives, f,
         "expected to survive " + form_name(form) + ", but " + verdict_phrase(f.verdict)});
  }
  if (!r.item.never_leaves_device) return;
  for (const Fate& f : r.fates) {
    if (!to_other_device(f) || !restored(f)) continue;
    r.violations.push_back({ViolationKind::kNeverLeavesDevice, f,
                            "expected never to leave the device, but on " + form_name(f.form) +
                                " it is " + verdict_phrase(f.verdict)});
  }
}

void warn_about_traits(ItemReport& r) {
  const Traits& t = r.item.traits;
  const auto& names = names_of(t.accessible);
  if (names.deprecated) {
    const Accessibility instead = oracle::is_migratory(t.accessible)
                                      ? Accessibility::kAfterFirstUnlock
                                      : Accessibility::kAfterFirstUnlockThisDeviceOnly;
    r.warnings.push_back({WarningKind::kDeprecated, std::string(names.constant) +
                                                        " is deprecated since iOS 12; use " +
                                                        std::string(names_of(instead).constant)});
  }
  if (t.synchronizable && oracle::is_this_device_only(t.accessible)) {
    r.warnings.push_back({WarningKind::kSyncNeverSyncs,
                          "synchronizable with a ThisDeviceOnly class: the add succeeds but iCloud "
                          "Keychain never syncs it (R6); drop one of the two"});
  }
  if (oracle::check_add(t, /*device_has_passcode=*/true) == AddError::kParam) {
    r.warnings.push_back(
        {WarningKind::kAddFails,
         t.auth_constraint && t.synchronizable
             ? "SecItemAdd fails with errSecParam (-50): an access-control constraint cannot be "
               "synchronizable (R9), so this item never exists"
             : "SecItemAdd fails with errSecParam (-50): a Secure Enclave token is only for class "
               "keys (R9), so this item never exists"});
  }
  if (t.accessible == Accessibility::kWhenPasscodeSetThisDeviceOnly) {
    r.warnings.push_back(
        {WarningKind::kPasscodeBound,
         "WhenPasscodeSetThisDeviceOnly: in no backup or migration at all (R1), deleted when the "
         "user turns the passcode off, and cannot be added without a passcode (R8)"});
  }
  if (t.app_clip) {
    r.warnings.push_back(
        {WarningKind::kAppClip,
         "added by an App Clip: in no backup and no Quick Start transfer, in any class (R10); "
         "have the full app write the item again once it is installed"});
  }
}

// R11: where an app's stored persistent reference stops naming the item. Which kind of reference
// a device hands out is not the app's to know (which iOS version turned UUID-based ones on is not
// public), so a form where the item comes back by the backup counts as renewed when it is renewed
// for a source handing out old-style references and a target handing out UUID-based ones.
void warn_about_persistent_ref(ItemReport& r, const DeviceSettings& settings) {
  if (!r.item.stores_persistent_ref) return;
  std::vector<Form> none, renewed, kind_dependent;
  for (const Fate& f : r.fates) {
    DeviceSettings same_kind = settings;
    same_kind.persistent_refs = same_kind.target_persistent_refs = PersistentRefKind::kUuid;
    DeviceSettings upgraded = settings;
    upgraded.persistent_refs = PersistentRefKind::kRowid;
    upgraded.target_persistent_refs = PersistentRefKind::kUuid;
    const oracle::Question q{r.item.traits, f.form.journey, f.form.target, same_kind};
    const RefFate steady = oracle::predict_ref(q, f.verdict, /*rowid_taken=*/false).fate;
    const RefFate switched =
        oracle::predict_ref({r.item.traits, f.form.journey, f.form.target, upgraded}, f.verdict,
                            /*rowid_taken=*/false)
            .fate;
    if (steady == RefFate::kNone) {
      none.push_back(f.form);
    } else if (steady == RefFate::kRenewed) {
      renewed.push_back(f.form);
    } else if (switched != RefFate::kKept) {
      kind_dependent.push_back(f.form);
    }
  }
  if (none.empty() && renewed.empty() && kind_dependent.empty()) return;
  std::string message = "stores a persistent reference (R11):";
  if (!none.empty()) message += " lost on " + join_forms(none) + ", so it names nothing;";
  if (!renewed.empty()) {
    message += " a new reference on " + join_forms(renewed) + " (the item is a new row there);";
  }
  if (!kind_dependent.empty()) {
    message += " a new reference on " + join_forms(kind_dependent) +
               " when the backup carried an old-style reference and the target hands out "
               "UUID-based ones (which iOS version turned those on is not public), or the rowid "
               "is taken;";
  }
  message +=
      " look the item up by its attributes (kSecAttrService, kSecAttrAccount), not by a stored "
      "reference";
  r.warnings.push_back({WarningKind::kPersistentRef, message});
}

bool expects_to_survive(const AuditItem& item, const Form& form) {
  return std::find(item.survives.begin(), item.survives.end(), form) != item.survives.end();
}

// Users can turn iCloud Keychain off (rules.md: wrong beliefs about `synchronizable`), so every
// item that comes back somewhere only through it is warned about, the icloud-keychain journey
// itself included, with the expectations that rest on it.
void warn_about_sync_dependence(ItemReport& r) {
  std::vector<Form> by_backup_journeys, expected;
  bool syncs = false;
  for (const Fate& f : r.fates) {
    if (!restored(f) || f.verdict.road != Road::kIcloudKeychain) continue;
    if (f.form.journey == Journey::kIcloudKeychain) {
      syncs = true;
    } else {
      by_backup_journeys.push_back(f.form);
    }
    if (expects_to_survive(r.item, f.form)) expected.push_back(f.form);
  }
  if (!syncs && by_backup_journeys.empty()) return;
  std::string message = by_backup_journeys.empty()
                            ? "reaches the user's other devices only through iCloud Keychain (R6)"
                            : "comes back on " + join_forms(by_backup_journeys) +
                                  " only through iCloud Keychain (R6)";
  message += ", which users can turn off";
  if (!expected.empty()) message += "; the expectation " + join_forms(expected) + " rests on it";
  r.warnings.push_back({WarningKind::kIcloudKeychainOnly, message});
}

// The journeys that bring an app's files to a new phone (zodl-ios#1024,
// react-native-mmkv-storage#269: files come back, keys do not).
void warn_about_half_restore(ItemReport& r) {
  std::vector<Form> lost;
  for (Journey j : {Journey::kLocalEncrypted, Journey::kIcloudBackup, Journey::kQuickStart}) {
    const Form form{j, Target::kOtherDevice};
    if (!restored(fate_at(r, form))) lost.push_back(form);
  }
  // An item SecItemAdd refuses never exists; add-fails says so already.
  if (lost.empty() || oracle::check_add(r.item.traits, true) != AddError::kNone) return;
  r.warnings.push_back(
      {WarningKind::kHalfRestored,
       "lost on " + join_forms(lost) +
           " although the app's files come back: detect this half-restored state on first launch "
           "(app data present, item missing) and recover (sign in or enrol again)"});
}

// Declared once, warned once: on the first half of the pair in the document.
void warn_about_pair(const std::vector<ItemReport>& all, size_t index, ItemReport& r) {
  if (!r.item.pair || *r.item.pair < index) return;
  const ItemReport& partner = all[*r.item.pair];
  std::vector<Form> only_mine, only_partner;
  for (const Fate& f : r.fates) {
    const bool mine = restored(f);
    if (mine == restored(fate_at(partner, f.form))) continue;
    (mine ? only_mine : only_partner).push_back(f.form);
  }
  if (only_mine.empty() && only_partner.empty()) return;
  std::string message = "key pair with '" + partner.item.name + "' splits:";
  if (!only_mine.empty()) {
    message += " only '" + r.item.name + "' comes back on " + join_forms(only_mine) + ";";
  }
  if (!only_partner.empty()) {
    message += " only '" + partner.item.name + "' comes back on " + join_forms(only_partner) + ";";
  }
  const bool enclave =
      r.item.traits.token != Token::kNone || partner.item.traits.token != Token::kNone;
  message += enclave ? " a Secure Enclave key never leaves its device (R1): derive the public key "
                       "from it (SecKeyCopyPublicKey) instead of storing it"
                     : " give both halves the same accessibility class";
  r.warnings.push_back({WarningKind::kPairSplits, message});
}

}  // namespace

std::string_view name_of(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::kSurvives:
      return "survives";
    case ViolationKind::kNeverLeavesDevice:
      return "never-leaves-device";
  }
  return "?";
}

std::string_view name_of(WarningKind kind) {
  switch (kind) {
    case WarningKind::kDeprecated:
      return "deprecated";
    case WarningKind::kSyncNeverSyncs:
      return "sync-never-syncs";
    case WarningKind::kAddFails:
      return "add-fails";
    case WarningKind::kPasscodeBound:
      return "passcode-bound";
    case WarningKind::kPairSplits:
      return "pair-splits";
    case WarningKind::kIcloudKeychainOnly:
      return "icloud-keychain-only";
    case WarningKind::kAppClip:
      return "app-clip";
    case WarningKind::kPersistentRef:
      return "persistent-ref";
    case WarningKind::kHalfRestored:
      return "half-restored";
  }
  return "?";
}

size_t AuditReport::violation_count() const {
  size_t n = 0;
  for (const ItemReport& r : items)
    n += r.violations.size();
  return n;
}

size_t AuditReport::warning_count() const {
  size_t n = 0;
  for (const ItemReport& r : items)
    n += r.warnings.size();
  return n;
}

AuditReport audit(const AuditInput& input) {
  AuditReport report;
  report.icloud_keychain = input.icloud_keychain;
  DeviceSettings settings;
  settings.icloud_keychain = input.icloud_keychain;
  for (const AuditItem& item : input.items) {
    report.items.push_back({item, oracle::fates(item.traits, settings), {}, {}});
  }
  for (size_t i = 0; i < report.items.size(); ++i) {
    ItemReport& r = report.items[i];
    check_expectations(r);
    warn_about_traits(r);
    warn_about_pair(report.items, i, r);
    warn_about_sync_dependence(r);
    warn_about_half_restore(r);
    warn_about_persistent_ref(r, settings);
  }
  return report;
}

}  // namespace kcb
