#include "cli/options.h"

#include "cli/seed.h"
#include "kcbackup/names.h"

namespace kcb::cli {

Result<SecretBytes> parse_hex_option(std::string_view option, std::string_view hex, size_t bytes,
                                     std::string_view what) {
  Bytes value;
  if (hex.size() != 2 * bytes || !from_hex(hex, &value)) {
    return Status::InvalidArgument(std::string(option) + ": expected " + std::to_string(2 * bytes) +
                                   " hex digits (a " + std::to_string(bytes) + "-byte " +
                                   std::string(what) + "), got " + std::to_string(hex.size()) +
                                   " characters");
  }
  SecretBytes secret(value);
  wipe(value);
  return secret;
}

void add_trait_options(CLI::App* cmd, TraitOptions* o) {
  cmd->add_option("--accessible,-a", o->accessible,
                  "kSecAttrAccessible value in any spelling: WhenUnlocked, whenUnlocked, "
                  "when-unlocked, kSecAttrAccessibleWhenUnlocked or the pdmn code ak")
      ->capture_default_str();
  cmd->add_option("--class", o->item_class, "Item class: genp, inet, cert or keys")
      ->capture_default_str();
  cmd->add_flag("--synchronizable,-s", o->synchronizable,
                "kSecAttrSynchronizable: the item also lives in iCloud Keychain");
  cmd->add_option("--token", o->token, "kSecAttrTokenID: none or secure-enclave")
      ->capture_default_str();
  cmd->add_flag("--auth-constraint", o->auth_constraint,
                "kSecAttrAccessControl with user presence, biometry or passcode");
  cmd->add_flag("--app-clip", o->app_clip,
                "The item was added by an App Clip (clip = 1): in no backup or transfer (R10)");
}

Result<Traits> parse_traits(const TraitOptions& o) {
  Traits t;
  KCB_ASSIGN_OR_RETURN(t.accessible, parsed("--accessible", parse_accessibility(o.accessible)));
  KCB_ASSIGN_OR_RETURN(t.item_class, parsed("--class", parse_item_class(o.item_class)));
  KCB_ASSIGN_OR_RETURN(t.token, parsed("--token", parse_token(o.token)));
  t.synchronizable = o.synchronizable;
  t.auth_constraint = o.auth_constraint;
  t.app_clip = o.app_clip;
  return t;
}

void add_settings_options(CLI::App* cmd, SettingsOptions* o) {
  cmd->add_option("--passcode", o->passcode, "Whether the source device has a passcode: on or off")
      ->capture_default_str();
  cmd->add_option("--icloud-keychain", o->icloud_keychain,
                  "iCloud Keychain on both devices: on or off. Not given: answered for off, with a "
                  "note on what changes when it is on");
}

Result<DeviceSettings> parse_settings(const SettingsOptions& o) {
  DeviceSettings s;
  KCB_ASSIGN_OR_RETURN(Switch passcode, parsed("--passcode", parse_switch(o.passcode)));
  if (passcode == Switch::kUnspecified) {
    return Status::InvalidArgument("--passcode takes on or off");
  }
  s.passcode = passcode == Switch::kOn;
  KCB_ASSIGN_OR_RETURN(s.icloud_keychain,
                       parsed("--icloud-keychain", parse_switch(o.icloud_keychain)));
  return s;
}

void add_seed_and_format(CLI::App* cmd, SeedAndFormat* o) {
  add_seed_option(cmd, &o->seed);
  add_format_option(cmd, &o->format, false);
}

void add_device_dir(CLI::App* cmd, std::string* dir) {
  cmd->add_option("DIR", *dir, "The device directory")->required();
}

}  // namespace kcb::cli
