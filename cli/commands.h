// The subcommands of `kcbackup`. Each add_*_command registers one subcommand (with its options,
// --help text and an example) on `app`; when the subcommand runs it stores its exit code in
// `exit_code` (see cli/output.h for the codes).
#pragma once

#include <CLI/CLI.hpp>

namespace kcb::cli {

void add_predict_command(CLI::App& app, int& exit_code);
void add_table_command(CLI::App& app, int& exit_code);
void add_rules_command(CLI::App& app, int& exit_code);
void add_demo_command(CLI::App& app, int& exit_code);
void add_audit_command(CLI::App& app, int& exit_code);
// device init|add|list|passcode|erase
void add_device_command(CLI::App& app, int& exit_code);
// backup, restore, migrate
void add_backup_commands(CLI::App& app, int& exit_code);
// inspect keybag|blob|archive|bundle
void add_inspect_command(CLI::App& app, int& exit_code);
void add_simulate_command(CLI::App& app, int& exit_code);

}  // namespace kcb::cli
