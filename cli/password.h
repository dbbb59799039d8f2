// Where a backup password comes from, in the order cli.md gives: --password-file F, --password P,
// the KCBACKUP_PASSWORD environment variable, then a prompt without echo when stdin is a terminal.
// Used by backup, restore and inspect. Passwords live in SecretBytes; the option strings that held
// them are wiped when the options die (when run_kcbackup returns), since commands read them const.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "kcbackup/bytes.h"
#include "kcbackup/env.h"
#include "kcbackup/status.h"

namespace kcb::cli {

inline constexpr const char* kPasswordEnvVar = "KCBACKUP_PASSWORD";
// A password file is one line; anything larger is not a password file.
inline constexpr size_t kMaxPasswordFileBytes = 4096;

struct PasswordOptions {
  std::string file;
  std::string value;
  bool value_given = false;  // --password "" is a (empty) password, not an absent one
  ~PasswordOptions();
};
void add_password_options(CLI::App* cmd, PasswordOptions* opts);
// Whether the command line asked for a password (--password or --password-file). The
// environment's KCBACKUP_PASSWORD is not a request for one backup, so it does not count.
inline bool password_given(const PasswordOptions& o) {
  return !o.file.empty() || o.value_given;
}

// Asks the user for a password; nullopt when no one can be asked or the user ends the input
// (Ctrl-D) without typing anything. The default asks on the
// terminal (stdin) without echo, and only when stdin is a terminal.
using PasswordPrompt = std::function<std::optional<SecretBytes>(std::string_view question)>;
// Replaces the prompt (tests use this so that a test run from a terminal never waits for input);
// returns the previous one.
PasswordPrompt set_password_prompt(PasswordPrompt prompt);

enum class Ask {
  kNever,  // the sources given on the command line and the environment only
  kOnce,
  kTwice,  // a new password (backup): asked twice, the answers must agree
};

// The password from the first source that has one, or nullopt when none has. The file is read
// through env: IOError for an unreadable one, ResourceExhausted for one over kMaxPasswordFileBytes;
// InvalidArgument when the two answers of Ask::kTwice differ.
Result<std::optional<SecretBytes>> read_password(const PasswordOptions& opts, Env& env,
                                                 std::string_view question, Ask ask = Ask::kOnce);

// The password as the engine's option structs take it; wipe it with wipe_password afterwards.
std::string password_string(const SecretBytes& password);
void wipe_password(std::string& password);

}  // namespace kcb::cli
