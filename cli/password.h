// The command line's side of kcbackup/backup_keys.h: the options that fill BackupKeySources, and
// the prompt they carry, which asks on the terminal (stdin) without echo, and only when stdin is a
// terminal. Sources die with the options (when run_kcbackup returns), which wipes the password.
#pragma once

#include <CLI/CLI.hpp>

#include "kcbackup/backup_keys.h"

namespace kcb::cli {

// --password-file and --password, and the prompt (the terminal, or what set_password_prompt put).
void add_password_options(CLI::App* cmd, BackupKeySources* keys);
// Those and --key-file; with `device_help` also --device (the source device).
void add_backup_key_options(CLI::App* cmd, BackupKeySources* keys,
                            const char* device_help = nullptr);

// Replaces the prompt of every command's sources (tests use this so that a test run from a
// terminal never waits for input); returns the previous one.
PasswordPrompt set_password_prompt(PasswordPrompt prompt);
// What the sources ask through: the prompt set_password_prompt put last, at the time of asking.
std::optional<SecretBytes> ask_password(std::string_view question);

}  // namespace kcb::cli
