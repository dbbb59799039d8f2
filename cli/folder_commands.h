// The commands of issue 13 (cli13's files): a device's app files (`device put`, `device files`,
// cli/device_files_commands.cc) and real backup folders (`inspect backup`, `extract`, `unlock`,
// cli/folder_commands.cc). Same shape as cli/commands.h: run_<cmd>(options, env, out, err), no
// logic beyond parsing options, calling a library and printing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/output.h"
#include "cli/password.h"
#include "kcbackup/audit.h"
#include "kcbackup/bytes.h"
#include "kcbackup/env.h"
#include "kcbackup/status.h"

namespace kcb::cli {

// `device put DIR --domain D --path P FILE [--protection-class N]`: FILE's bytes become the app
// file D / P of the device (replacing one of that name).
struct DevicePutOptions {
  std::string dir;
  std::string domain;
  std::string path;
  std::string file;
  uint32_t protection_class = 3;  // NSFileProtectionCompleteUntilFirstUserAuthentication
  Format format = Format::kText;
};
Status run_device_put(const DevicePutOptions& o, Env& env, std::ostream& out, std::ostream& err);

// `device files DIR`: the app files a device holds (domain, path, size, protection class).
struct DeviceFilesOptions {
  std::string dir;
  Format format = Format::kText;
};
Status run_device_files(const DeviceFilesOptions& o, Env& env, std::ostream& out,
                        std::ostream& err);

// Registers `put` and `files` in the `device` group (called from add_device_command).
void add_device_files_commands(CLI::App& device, Status& status);

// The folder commands below (and audit --backup, restore) take the password, --key-file and
// --device from kcbackup/backup_keys.h's BackupKeySources (cli/password.h registers them).

// `inspect backup DIR [keys] [--device DEV] [--files]`.
struct InspectBackupOptions {
  std::string dir;
  BackupKeySources keys;
  bool files = false;
  std::string seed;  // the other-device trial's UID
  Format format = Format::kText;
};
Status run_inspect_backup(const InspectBackupOptions& o, Env& env, std::ostream& out,
                          std::ostream& err);

// `extract DIR --domain D --path P -o OUT [keys] [--device DEV]`: one file's plaintext, written
// atomically to OUT, which must not exist.
struct ExtractOptions {
  std::string dir;
  std::string domain;
  std::string path;
  std::string out;
  BackupKeySources keys;
  Format format = Format::kText;
};
Status run_extract(const ExtractOptions& o, Env& env, std::ostream& out, std::ostream& err);

// `unlock DIR [password] --key-out FILE`: the derived password key, hex, mode 0600, a warning.
struct UnlockOptions {
  std::string dir;
  BackupKeySources keys;  // the password sources only: the point is to derive the key
  std::string key_out;
  Format format = Format::kText;
};
Status run_unlock(const UnlockOptions& o, Env& env, std::ostream& out, std::ostream& err);

// `audit --backup DIR --access-group G`: the decoded items of that group as the audit's input
// (kcbackup/audit.h audit_input_of_found). InvalidArgument naming the groups the backup has when
// none of its decoded items is in G; a note on `err` when some items did not decode. `format`
// kText shows the opening's progress on a terminal.
Result<AuditInput> audit_input_from_backup(const std::string& dir, const std::string& access_group,
                                           const BackupKeySources& keys, Format format,
                                           std::ostream& err, Env& env);

// `inspect backup` under the inspect group; `extract` and `unlock` at the top.
void add_inspect_backup_command(CLI::App& inspect, Status& status);
void add_folder_commands(CLI::App& app, Status& status);

}  // namespace kcb::cli
