// The commands of `kcbackup`. Each is a function of its options, an Env for the files it reads
// and the two streams it prints to, `Status run_<cmd>(options, env, out, err)`, so tests can run it
// with string streams and a fake file system. A command that finds a check saying no (the demo's
// engine and oracle disagree) returns CheckFailed. Only run_kcbackup (cli/app.cc) turns a Status
// into a line on stderr and an exit code (cli/output.h exit_code_for).
//
// add_*_command registers a command's options and --help on the app; its callback runs the command
// with default_env(), std::cout and std::cerr and stores the Status in `status`.
#pragma once

#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/help.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/password.h"
#include "kcbackup/env.h"
#include "kcbackup/status.h"

namespace kcb::cli {

// ---- predict, table, rules (oracle_commands.cc) ----

struct PredictOptions {
  TraitOptions traits;
  SettingsOptions settings;
  std::string journey;
  std::string target;
  Format format = Format::kText;
};
Status run_predict(const PredictOptions& o, Env& env, std::ostream& out, std::ostream& err);

struct TableOptions {
  TraitOptions traits;
  bool one_accessible = false;  // --accessible given: that class's rows only
  SettingsOptions settings;
  bool measured = false;  // the seed's 12 rows beside the oracle; CheckFailed if any disagrees
  Format format = Format::kText;
};
Status run_table(const TableOptions& o, Env& env, std::ostream& out, std::ostream& err);

struct RulesOptions {
  Format format = Format::kText;
};
Status run_rules(const RulesOptions& o, Env& env, std::ostream& out, std::ostream& err);

void add_oracle_commands(CLI::App& app, Status& status);

// ---- demo (demo.cc) ----

struct DemoOptions {
  Format format = Format::kText;
  std::string seed = "2018";
};
// CheckFailed when a row of measured, oracle and engine disagrees.
Status run_demo(const DemoOptions& o, Env& env, std::ostream& out, std::ostream& err);
void add_demo_command(CLI::App& app, Status& status);

// ---- device init|add|update|delete|list|passcode|erase (device_commands.cc) ----

struct DeviceInitOptions {
  std::string dir;
  std::string passcode = "on";
  std::string icloud_keychain = "off";
  std::string uid_hex;
  std::string persistent_refs = "rowid";  // rowid or uuid (R11)
  std::string sos = "off";                // the legacy sync circle (R15)
  SeedAndFormat run;
};
Status run_device_init(const DeviceInitOptions& o, Env& env, std::ostream& out, std::ostream& err);

// `device set DIR [--persistent-refs rowid|uuid] [--sos on|off]`: the settings a device keeps
// besides passcode and iCloud Keychain. Empty: unchanged.
struct DeviceSetOptions {
  std::string dir;
  std::string persistent_refs;
  std::string sos;
  SeedAndFormat run;
};
Status run_device_set(const DeviceSetOptions& o, Env& env, std::ostream& out, std::ostream& err);

// The secret of `device add` and `device update`: --secret TEXT or --secret-file F (read through
// the Env). The text is wiped when the options die.
struct SecretOptions {
  std::optional<std::string> text;
  std::optional<std::string> file;
  bool given() const { return text || file; }
  ~SecretOptions();
};

struct DeviceAddOptions {
  std::string dir;
  TraitOptions traits;
  std::string sysbound = "none";  // none or preserve (kSecAttrSysBound)
  bool tombstone = false;         // a marker of a deleted synchronizable item (R15)
  std::string account;
  std::string service;
  std::optional<std::string> label;
  SecretOptions secret;
  SeedAndFormat run;
};
Status run_device_add(const DeviceAddOptions& o, Env& env, std::ostream& out, std::ostream& err);

// Which item: a row (from `device list`) or the account and service of one item of the class.
struct ItemSelector {
  std::string item_class = "genp";
  int64_t row = 0;
  std::string account;
  std::string service;
  bool by_account = false;  // --account or --service given
};

struct DeviceUpdateOptions {
  std::string dir;
  ItemSelector selector;
  std::string accessible;
  std::string synchronizable;
  std::optional<std::string> label;
  SecretOptions secret;
  SeedAndFormat run;
};
Status run_device_update(const DeviceUpdateOptions& o, Env& env, std::ostream& out,
                         std::ostream& err);

struct DeviceDeleteOptions {
  std::string dir;
  ItemSelector selector;
  Format format = Format::kText;
};
Status run_device_delete(const DeviceDeleteOptions& o, Env& env, std::ostream& out,
                         std::ostream& err);

struct DeviceListOptions {
  std::string dir;
  bool show_secrets = false;
  Format format = Format::kText;
};
Status run_device_list(const DeviceListOptions& o, Env& env, std::ostream& out, std::ostream& err);

// passcode (STATE on|off) and erase.
struct DeviceChangeOptions {
  std::string dir;
  std::string passcode;
  SeedAndFormat run;
};
Status run_device_passcode(const DeviceChangeOptions& o, Env& env, std::ostream& out,
                           std::ostream& err);
Status run_device_erase(const DeviceChangeOptions& o, Env& env, std::ostream& out,
                        std::ostream& err);

void add_device_command(CLI::App& app, Status& status);

// ---- backup, restore, migrate (backup_commands.cc) ----

struct BackupCommandOptions {
  std::string device;
  std::string bundle;
  std::string journey;
  BackupKeySources keys;  // the password sources only
  bool fast_kdf = false;  // kFastKdf: for tests and demos; protects nothing
  SeedAndFormat run;
};
Status run_backup(const BackupCommandOptions& o, Env& env, std::ostream& out, std::ostream& err);

struct RestoreCommandOptions {
  std::string bundle;  // the backup folder
  std::string device;
  BackupKeySources keys;  // the password sources and --key-file
  SeedAndFormat run;
};
Status run_restore(const RestoreCommandOptions& o, Env& env, std::ostream& out, std::ostream& err);

struct MigrateOptions {
  std::string from;
  std::string to;
  bool fast_kdf = false;
  SeedAndFormat run;
};
Status run_migrate(const MigrateOptions& o, Env& env, std::ostream& out, std::ostream& err);

void add_backup_commands(CLI::App& app, Status& status);

// ---- inspect keybag|blob|archive|bundle (inspect_commands.cc) ----

struct InspectKeybagOptions {
  std::string file;       // a bare keybag or a Manifest.plist holding BackupKeyBag
  BackupKeySources keys;  // the password sources, --key-file and --device
  bool show_secrets = false;
  Format format = Format::kText;
};
Status run_inspect_keybag(const InspectKeybagOptions& o, Env& env, std::ostream& out,
                          std::ostream& err);

struct InspectBlobOptions {
  std::string file;
  std::string class_key_hex;  // wiped when the options die
  bool show_secrets = false;
  Format format = Format::kText;
  ~InspectBlobOptions();
};
Status run_inspect_blob(const InspectBlobOptions& o, Env& env, std::ostream& out,
                        std::ostream& err);

struct InspectArchiveOptions {
  std::string file;
  Format format = Format::kText;
};
Status run_inspect_archive(const InspectArchiveOptions& o, Env& env, std::ostream& out,
                           std::ostream& err);

void add_inspect_command(CLI::App& app, Status& status);

// ---- audit (run_audit: cli/audit_command.h), simulate (simulate.cc) ----
void add_audit_command(CLI::App& app, Status& status);
void add_simulate_command(CLI::App& app, Status& status);

// The path of command `name` under `parent` ("device add"), as cli/help.cc names it.
std::string command_path(const CLI::App& parent, const std::string& name);

// A command that only groups others (`device`, `inspect`), with its help from cli/help.cc.
CLI::App& add_group(CLI::App& app, const std::string& name);

// Registers command `name` under `parent`: its summary and --help footer from cli/help.cc, the
// options `declare(cmd, options)` adds, and a callback that runs `run` on the process's files and
// streams and leaves its Status in `status`. Returns the command for further set-up.
template <typename Options, typename Declare>
CLI::App* add_command(CLI::App& parent, Status& status, const std::string& name,
                      Status (*run)(const Options&, Env&, std::ostream&, std::ostream&),
                      Declare declare) {
  const CommandHelp& help = help_for(command_path(parent, name));
  auto options = std::make_shared<Options>();
  CLI::App* cmd = parent.add_subcommand(name, std::string(help.about));
  declare(cmd, *options);
  cmd->footer(std::string(help.footer));
  cmd->callback(
      [options, run, &status] { status = run(*options, default_env(), std::cout, std::cerr); });
  return cmd;
}

}  // namespace kcb::cli
