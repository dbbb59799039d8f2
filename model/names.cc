#include "kcbackup/names.h"

#include <array>
#include <cctype>
#include <optional>

namespace kcb {
namespace {

constexpr std::array<AccessibilityName, 7> kAccessibility = {{
    {Accessibility::kWhenUnlocked, "WhenUnlocked", "kSecAttrAccessibleWhenUnlocked", "ak", 6,
     false},
    {Accessibility::kAfterFirstUnlock, "AfterFirstUnlock", "kSecAttrAccessibleAfterFirstUnlock",
     "ck", 7, false},
    {Accessibility::kAlways, "Always", "kSecAttrAccessibleAlways", "dk", 8, true},
    {Accessibility::kWhenUnlockedThisDeviceOnly, "WhenUnlockedThisDeviceOnly",
     "kSecAttrAccessibleWhenUnlockedThisDeviceOnly", "aku", 9, false},
    {Accessibility::kAfterFirstUnlockThisDeviceOnly, "AfterFirstUnlockThisDeviceOnly",
     "kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly", "cku", 10, false},
    {Accessibility::kAlwaysThisDeviceOnly, "AlwaysThisDeviceOnly",
     "kSecAttrAccessibleAlwaysThisDeviceOnly", "dku", 11, true},
    {Accessibility::kWhenPasscodeSetThisDeviceOnly, "WhenPasscodeSetThisDeviceOnly",
     "kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly", "akpu", 12, false},
}};

// A spelling with its value; `spellings` lists the canonical one first.
template <typename T>
struct Spelling {
  T value;
  std::string_view canonical;
  std::array<std::string_view, 4> aliases;
};

constexpr Spelling<ItemClass> kItemClasses[] = {
    {ItemClass::kGenp, "genp", {"kSecClassGenericPassword", "generic-password", "", ""}},
    {ItemClass::kInet, "inet", {"kSecClassInternetPassword", "internet-password", "", ""}},
    {ItemClass::kCert, "cert", {"kSecClassCertificate", "certificate", "", ""}},
    {ItemClass::kKeys, "keys", {"kSecClassKey", "key", "", ""}},
};
constexpr Spelling<Token> kTokens[] = {
    {Token::kNone, "none", {"", "", "", ""}},
    {Token::kSecureEnclave, "secure-enclave", {"kSecAttrTokenIDSecureEnclave", "sep", "se", ""}},
};
constexpr Spelling<SystemBound> kSystemBounds[] = {
    {SystemBound::kNone, "none", {"kSecSecAttrSysBoundNot", "not", "0", ""}},
    {SystemBound::kPreserveDuringRestore,
     "preserve",
     {"kSecSecAttrSysBoundPreserveDuringRestore", "preserve-during-restore", "1", ""}},
};
constexpr Spelling<PersistentRefKind> kPersistentRefKinds[] = {
    {PersistentRefKind::kRowid, "rowid", {"old-style", "legacy", "12", ""}},
    {PersistentRefKind::kUuid, "uuid", {"uuid-based", "20", "", ""}},
};
constexpr Spelling<RefFate> kRefFates[] = {
    {RefFate::kKept, "kept", {"same", "resolves", "", ""}},
    {RefFate::kRenewed, "renewed", {"new", "changed", "", ""}},
    {RefFate::kNone, "none", {"lost", "gone", "", ""}},
};
constexpr Spelling<Journey> kJourneys[] = {
    {Journey::kLocal, "local", {"itunes", "finder", "local-unencrypted", ""}},
    {Journey::kLocalEncrypted, "local-encrypted", {"itunes-encrypted", "finder-encrypted", "", ""}},
    {Journey::kIcloudBackup, "icloud-backup", {"", "", "", ""}},
    {Journey::kQuickStart, "quick-start", {"migrate", "migration", "", ""}},
    {Journey::kIcloudKeychain, "icloud-keychain", {"sync", "", "", ""}},
};
constexpr Spelling<Target> kTargets[] = {
    {Target::kSameDevice, "same-device", {"same", "", "", ""}},
    {Target::kOtherDevice,
     "other-device",
     {"other", "different-device", "different", "new-device"}},
};
constexpr Spelling<Switch> kSwitches[] = {
    {Switch::kUnspecified, "unspecified", {"", "", "", ""}},
    {Switch::kOff, "off", {"false", "no", "0", ""}},
    {Switch::kOn, "on", {"true", "yes", "1", ""}},
};

// Case, '-', '_', '.' and spaces do not matter: "When_Unlocked" == "when-unlocked".
std::string fold(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '-' || c == '_' || c == '.' || c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

template <typename T, size_t N>
Result<T> parse_spelling(const Spelling<T> (&table)[N], std::string_view what,
                         std::string_view text) {
  const std::string folded = fold(text);
  for (const auto& s : table) {
    if (!folded.empty() && folded == fold(s.canonical)) return s.value;
    for (std::string_view alias : s.aliases) {
      if (!alias.empty() && folded == fold(alias)) return s.value;
    }
  }
  std::string msg =
      "unknown " + std::string(what) + " '" + std::string(text) + "'; expected one of:";
  for (const auto& s : table) {
    if (s.canonical == "unspecified") continue;
    msg += " ";
    msg += s.canonical;
  }
  return Status::InvalidArgument(std::move(msg));
}

template <typename T, size_t N>
std::string_view canonical_of(const Spelling<T> (&table)[N], T value) {
  for (const auto& s : table) {
    if (s.value == value) return s.canonical;
  }
  return "?";
}

}  // namespace

const AccessibilityName& names_of(Accessibility a) {
  return kAccessibility[static_cast<size_t>(a)];
}

Result<Accessibility> parse_accessibility(std::string_view text) {
  std::string folded = fold(text);
  const std::string prefix = "ksecattraccessible";
  if (folded.rfind(prefix, 0) == 0) folded.erase(0, prefix.size());
  for (const auto& n : kAccessibility) {
    if (!folded.empty() && (folded == fold(n.name) || folded == n.pdmn)) return n.value;
  }
  std::string msg = "unknown accessibility '";
  msg.append(text).append("'; expected a kSecAttrAccessible... name or pdmn code:");
  for (const auto& n : kAccessibility) {
    msg.append(" ").append(n.name).append(" (").append(n.pdmn).append(")");
  }
  return Status::InvalidArgument(std::move(msg));
}

std::optional<Accessibility> accessibility_from_pdmn(std::string_view pdmn) {
  for (const auto& n : kAccessibility) {
    if (n.pdmn == pdmn) return n.value;
  }
  return std::nullopt;
}

std::optional<Accessibility> accessibility_from_key_class(uint32_t key_class) {
  for (const auto& n : kAccessibility) {
    if (n.key_class == key_class) return n.value;
  }
  return std::nullopt;
}

std::string_view name_of(ItemClass c) {
  return canonical_of(kItemClasses, c);
}
Result<ItemClass> parse_item_class(std::string_view t) {
  return parse_spelling(kItemClasses, "item class", t);
}
std::string_view name_of(Token t) {
  return canonical_of(kTokens, t);
}
Result<Token> parse_token(std::string_view t) {
  return parse_spelling(kTokens, "token", t);
}
std::string_view name_of(SystemBound s) {
  return canonical_of(kSystemBounds, s);
}
Result<SystemBound> parse_system_bound(std::string_view t) {
  return parse_spelling(kSystemBounds, "system-bound kind", t);
}
std::string_view name_of(PersistentRefKind k) {
  return canonical_of(kPersistentRefKinds, k);
}
Result<PersistentRefKind> parse_persistent_ref_kind(std::string_view t) {
  return parse_spelling(kPersistentRefKinds, "persistent reference kind", t);
}
std::string_view name_of(RefFate f) {
  return canonical_of(kRefFates, f);
}
Result<RefFate> parse_ref_fate(std::string_view t) {
  return parse_spelling(kRefFates, "persistent reference fate", t);
}
namespace {

// ---- Journeys as people say them (#16) ----
// The words of Apple's setup assistant and support pages ("Transfer from iPhone", "Restore from
// iCloud Backup"), folded like every spelling. "iCloud" alone names two journeys that keep
// different items (R4 vs R6): refused, with both meanings, rather than guessed.
struct JourneyPhrase {
  std::string_view phrase;
  Journey journey;
};
constexpr JourneyPhrase kJourneyPhrases[] = {
    {"transfer", Journey::kQuickStart},
    {"transfer from iPhone", Journey::kQuickStart},
    {"transfer directly from iPhone", Journey::kQuickStart},
    {"device to device", Journey::kQuickStart},
    {"restore from iCloud backup", Journey::kIcloudBackup},
    {"from iCloud backup", Journey::kIcloudBackup},
    {"iCloud Keychain sync", Journey::kIcloudKeychain},
};

Result<std::optional<Journey>> journey_as_people_say_it(std::string_view text) {
  const std::string folded = fold(text);
  if (folded == "icloud") {
    return Status::InvalidArgument(
        "'" + std::string(text) +
        "' is ambiguous: icloud-backup (restore from an iCloud backup, R4) or icloud-keychain "
        "(iCloud Keychain sync to the user's other devices, R6); name one of them");
  }
  for (const JourneyPhrase& p : kJourneyPhrases) {
    if (folded == fold(p.phrase)) return std::optional<Journey>(p.journey);
  }
  return std::optional<Journey>();
}

}  // namespace

std::string_view name_of(Journey j) {
  return canonical_of(kJourneys, j);
}
Result<Journey> parse_journey(std::string_view t) {
  KCB_ASSIGN_OR_RETURN(const std::optional<Journey> said, journey_as_people_say_it(t));
  if (said) return *said;
  return parse_spelling(kJourneys, "journey", t);
}
std::string_view name_of(Target t) {
  return canonical_of(kTargets, t);
}
Result<Target> parse_target(std::string_view t) {
  return parse_spelling(kTargets, "target", t);
}
std::string_view name_of(Switch s) {
  return canonical_of(kSwitches, s);
}
Result<Switch> parse_switch(std::string_view t) {
  return parse_spelling(kSwitches, "switch", t);
}

std::string_view name_of(Outcome o) {
  switch (o) {
    case Outcome::kRestored:
      return "restored";
    case Outcome::kLost:
      return "lost";
    case Outcome::kKept:
      return "kept";
  }
  return "?";
}

std::string_view name_of(Road r) {
  switch (r) {
    case Road::kBackup:
      return "backup";
    case Road::kIcloudKeychain:
      return "icloud-keychain";
    case Road::kNone:
      return "none";
  }
  return "?";
}

std::string_view name_of(Confidence c) {
  switch (c) {
    case Confidence::kMeasured:
      return "measured";
    case Confidence::kDocumented:
      return "documented";
    case Confidence::kSourceCode:
      return "source-code";
    case Confidence::kInferred:
      return "inferred";
    case Confidence::kReported:
      return "reported";
  }
  return "?";
}

std::string_view name_of(RuleId r) {
  static constexpr std::string_view kIds[] = {"R1", "R2",  "R3",  "R4",  "R5",  "R6",  "R7", "R8",
                                              "R9", "R10", "R11", "R12", "R13", "R14", "R15"};
  static_assert(std::size(kIds) == std::size(kAllRules));
  return kIds[static_cast<size_t>(r)];
}

std::string_view name_of(AddError e) {
  switch (e) {
    case AddError::kNone:
      return "errSecSuccess";
    case AddError::kParam:
      return "errSecParam";
    case AddError::kAuthFailed:
      return "errSecAuthFailed";
    case AddError::kDuplicateItem:
      return "errSecDuplicateItem";
    case AddError::kItemNotFound:
      return "errSecItemNotFound";
  }
  return "?";
}

std::string_view on_off(bool on) {
  return on ? "on" : "off";
}

std::string accessible_text(Accessibility a) {
  return std::string(names_of(a).name) + " (" + std::string(names_of(a).pdmn) + ")";
}

std::string key_class_text(uint32_t key_class) {
  const auto a = accessibility_from_key_class(key_class);
  if (!a) return std::to_string(key_class) + " (not a keychain class)";
  return std::to_string(key_class) + " " + std::string(names_of(*a).name);
}

std::string flags_text(const Traits& t) {
  std::string out;
  auto add = [&](std::string_view flag) { out += (out.empty() ? "" : ",") + std::string(flag); };
  if (t.synchronizable) add("sync");
  if (t.token != Token::kNone) add(name_of(t.token));
  if (t.auth_constraint) add("auth");
  if (t.system_bound != SystemBound::kNone) add("system-bound");
  if (t.app_clip) add("app-clip");
  if (t.tombstone) add("tombstone");
  return out.empty() ? "-" : out;
}

}  // namespace kcb
