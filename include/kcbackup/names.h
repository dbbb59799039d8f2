// The one name table: every spelling a user has at hand, Apple's short codes (pdmn) and key-class
// numbers, for every vocabulary type of model.h. Parsing is forgiving about case and separators
// (`kSecAttrAccessibleWhenUnlocked`, `WhenUnlocked`, `whenUnlocked`, `when-unlocked`, `ak` are one
// value); printing always uses the canonical spelling. Unknown names are an InvalidArgument that
// lists what is accepted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb {

struct AccessibilityName {
  Accessibility value;
  std::string_view name;      // "WhenUnlocked"
  std::string_view constant;  // "kSecAttrAccessibleWhenUnlocked"
  std::string_view pdmn;      // "ak": the keychain's `pdmn` column and attribute
  uint32_t key_class;         // 6..12: the class number in keybags and item blobs
  bool deprecated;            // Always and AlwaysThisDeviceOnly, since iOS 12
};

const AccessibilityName& names_of(Accessibility a);
Result<Accessibility> parse_accessibility(std::string_view text);
std::optional<Accessibility> accessibility_from_pdmn(std::string_view pdmn);
std::optional<Accessibility> accessibility_from_key_class(uint32_t key_class);

std::string_view name_of(ItemClass c);  // "genp"
Result<ItemClass> parse_item_class(std::string_view text);

std::string_view name_of(Token t);  // "none", "secure-enclave"
Result<Token> parse_token(std::string_view text);

std::string_view name_of(SystemBound s);  // "none", "preserve"
Result<SystemBound> parse_system_bound(std::string_view text);

std::string_view name_of(PersistentRefKind k);  // "rowid", "uuid"
Result<PersistentRefKind> parse_persistent_ref_kind(std::string_view text);

std::string_view name_of(RefFate f);  // "kept", "renewed", "none"
Result<RefFate> parse_ref_fate(std::string_view text);

std::string_view name_of(Journey j);  // "local-encrypted"
Result<Journey> parse_journey(std::string_view text);

std::string_view name_of(Target t);  // "other-device"
Result<Target> parse_target(std::string_view text);

std::string_view name_of(Switch s);  // "on", "off", "unspecified"
Result<Switch> parse_switch(std::string_view text);

std::string_view name_of(Outcome o);     // "restored", "lost", "kept"
std::string_view name_of(Road r);        // "backup", "icloud-keychain", "none"
std::string_view name_of(Confidence c);  // "measured", "source-code", ...
std::string_view name_of(RuleId r);      // "R3", "R15"
std::string_view name_of(AddError e);    // "errSecParam"

// Values as every command and report shows them to people.
std::string_view on_off(bool on);                // "on", "off"
std::string accessible_text(Accessibility a);    // "WhenUnlocked (ak)"
std::string key_class_text(uint32_t key_class);  // "6 WhenUnlocked", "3 (not a keychain class)"
// The traits besides accessibility and class that change an item's fate, as short flags:
// "sync,secure-enclave,auth,system-bound,app-clip,tombstone" (those set), "-" for none.
std::string flags_text(const Traits& t);

}  // namespace kcb
