// Options that several commands share, parsed through the one name table (model/names.h) so every
// spelling a user has is accepted everywhere.
#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/output.h"
#include "kcbackup/bytes.h"
#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb::cli {

// The parsed value, or the parser's error with the option that carried the text in front:
// parsed("--journey", parse_journey(text)).
template <typename T>
Result<T> parsed(std::string_view option, Result<T> result) {
  if (!result.ok()) return result.status().with_context(option);
  return result;
}

// A value of `bytes` bytes given in hex (--uid-hex, --class-key): InvalidArgument naming the
// option, the digits it takes and what (`what`: "UID") and the characters given otherwise.
Result<SecretBytes> parse_hex_option(std::string_view option, std::string_view hex, size_t bytes,
                                     std::string_view what);

// --accessible, --class, --synchronizable, --token, --auth-constraint, --app-clip.
struct TraitOptions {
  std::string accessible = "WhenUnlocked";
  std::string item_class = "genp";
  std::string token = "none";
  bool synchronizable = false;
  bool auth_constraint = false;
  bool app_clip = false;
};
void add_trait_options(CLI::App* cmd, TraitOptions* opts);
Result<Traits> parse_traits(const TraitOptions& opts);

// --passcode on|off and --icloud-keychain on|off (unspecified when absent).
struct SettingsOptions {
  std::string passcode = "on";
  std::string icloud_keychain = "unspecified";
};
void add_settings_options(CLI::App* cmd, SettingsOptions* opts);
Result<DeviceSettings> parse_settings(const SettingsOptions& opts);

// --seed and --format text|json: what every command that draws randomness has (cli/seed.h).
struct SeedAndFormat {
  std::string seed;
  Format format = Format::kText;
};
void add_seed_and_format(CLI::App* cmd, SeedAndFormat* opts);

// The DIR argument of the device commands.
void add_device_dir(CLI::App* cmd, std::string* dir);

}  // namespace kcb::cli
