// `kcbackup backup`, `restore` and `migrate`: the engine's journeys (engine/backup.h) over device
// directories and backup folders. Real KDF counts by default; --fast-kdf uses kFastKdf, which
// protects nothing and exists for tests and demos. Exit codes: 3 for a wrong or missing password,
// 2 for a malformed backup folder, 4 for I/O; on any error the target device is unchanged (the
// engine validates before it writes).
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <ostream>

#include "cli/commands.h"
#include "cli/seed.h"
#include "engine/blob.h"
#include "engine/keybag.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_render.h"
#include "kcbackup/device.h"
#include "kcbackup/inspection.h"
#include "kcbackup/names.h"
#include "kcbackup/utf8.h"

namespace kcb::cli {
namespace {

// Real counts take seconds: say so, but only to a person watching.
void note_kdf_cost(std::ostream& err, uint32_t iterations, uint32_t dp_iterations) {
  if (isatty(STDERR_FILENO) != 1) return;
  err << render::kdf_cost_note(iterations, dp_iterations) << std::flush;
}

Result<Journey> backup_journey(const std::string& text) {
  KCB_ASSIGN_OR_RETURN(Journey j, parse_journey(text));
  if (j == Journey::kQuickStart) {
    return Status::InvalidArgument("--journey quick-start: use `kcbackup migrate FROM TO`");
  }
  if (j == Journey::kIcloudKeychain) {
    return Status::InvalidArgument("--journey icloud-keychain is a sync road, not a backup");
  }
  return j;
}

// The password of a new encrypted backup: required, typed twice, not empty.
Result<SecretBytes> new_backup_password(const BackupKeySources& keys, Env& env) {
  KCB_ASSIGN_OR_RETURN(auto password, read_password(keys, env, "New backup password", Ask::kTwice));
  if (!password) {
    return Status::InvalidArgument(
        "local-encrypted needs a password: --password-file, --password, " +
        std::string(kPasswordEnvVar) + " or a terminal to type it on");
  }
  if (password->empty()) {
    // Finder and iTunes refuse an empty one too; and an empty password reads as "none" later.
    return Status::InvalidArgument("local-encrypted needs a non-empty password");
  }
  return std::move(*password);
}

void note_restore_kdf_cost(std::ostream& err, const Manifest& manifest) {
  auto bag = InspectedKeybag::parse(manifest.backup_keybag);
  if (!bag.ok()) return;
  const KeybagHeaderFacts& h = bag->header();
  if (h.dp_iterations + uint64_t{h.iterations} > 100'000) {
    note_kdf_cost(err, h.iterations, h.dp_iterations);
  }
}

}  // namespace

Status run_backup(const BackupCommandOptions& o, Env& env, std::ostream& out, std::ostream& err) {
  KCB_ASSIGN_OR_RETURN(Journey journey, backup_journey(o.journey));
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.run.seed));
  // A reader: shared lock, read-only database (docs/engine.md, device folders under concurrency).
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.device, {DeviceAccess::kReadOnly}));
  BackupOptions options;
  options.journey = journey;
  options.kdf = o.fast_kdf ? kFastKdf : KeybagKdf{};
  const bool encrypted = journey == Journey::kLocalEncrypted;
  if (!encrypted && o.keys.password_requested()) {
    // Silently writing an unencrypted backup for a user who gave a password would be the worst
    // answer.
    return Status::InvalidArgument("backup: --journey " + std::string(name_of(journey)) +
                                   " takes no password (only local-encrypted does)");
  }
  if (encrypted) {
    KCB_ASSIGN_OR_RETURN(SecretBytes password, new_backup_password(o.keys, env));
    options.password = password_string(password);
    if (!o.fast_kdf) note_kdf_cost(err, options.kdf.iterations, options.kdf.dp_iterations);
  }
  BackupSummary summary;
  auto folder = make_backup(*device, options, *random, &summary);
  wipe_password(options.password);
  if (!folder.ok()) return folder.status().with_context("backup");
  KCB_RETURN_IF_ERROR(write_backup_folder(env, o.bundle, *folder));
  render::BackupWritten written{
      o.bundle, journey, encrypted, o.fast_kdf, device->unique_device_id(), folder->files.size()};
  out << render::backup_report(written, summary, o.run.format);
  return Status::Ok();
}

Status run_restore(const RestoreCommandOptions& o, Env& env, std::ostream& out, std::ostream& err) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.run.seed));
  const DiskFolder folder(env, o.bundle);
  const std::string context =
      "restore " + printable_text(o.bundle) + " onto " + printable_text(o.device);
  auto manifest = read_folder_manifest(folder);
  if (!manifest.ok()) return manifest.status().with_context(context);
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.device));
  auto keys = read_backup_keys(o.keys, env, manifest->is_encrypted);
  if (!keys.ok()) return keys.status().with_context(context);
  if (manifest->is_encrypted && !keys->key) note_restore_kdf_cost(err, *manifest);
  RestoreOptions options;
  options.password = keys->password;
  options.password_key = std::move(keys->key);
  auto report = restore_backup(folder, *device, options, *random);
  wipe_password(options.password);
  if (!report.ok()) return report.status().with_context(context);
  const render::Fields fields{
      {"backup", o.bundle}, {"device", o.device}, {"journey", text_or_hex(manifest->journey)}};
  out << render::restore_report("restore", fields, *report, {o.run.format, use_colour()});
  return Status::Ok();
}

Status run_migrate(const MigrateOptions& o, Env& env, std::ostream& out, std::ostream& err) {
  std::error_code ec;
  if (std::filesystem::equivalent(o.from, o.to, ec)) {
    return Status::InvalidArgument("migrate: FROM and TO are the same device");
  }
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.run.seed));
  KCB_ASSIGN_OR_RETURN(auto from, Device::open(env, o.from, {DeviceAccess::kReadOnly}));
  KCB_ASSIGN_OR_RETURN(auto to, Device::open(env, o.to));
  const KeybagKdf kdf = o.fast_kdf ? kFastKdf : KeybagKdf{};
  if (!o.fast_kdf) note_kdf_cost(err, kdf.iterations, kdf.dp_iterations);
  auto report = quick_start(*from, *to, kdf, *random);
  if (!report.ok()) return report.status().with_context("migrate");
  out << render::migrate_report(o.from, o.to, *report, {o.run.format, use_colour()});
  return Status::Ok();
}

void add_backup_commands(CLI::App& app, Status& status) {
  add_command(app, status, "backup", run_backup, [](CLI::App* cmd, BackupCommandOptions& o) {
    cmd->add_option("DIR", o.device, "The device directory")->required();
    cmd->add_option("OUT", o.bundle,
                    "The backup folder to write (new or empty): Info.plist, Manifest.plist, "
                    "Manifest.db, Status.plist and the file blobs, as Finder writes them")
        ->required();
    cmd->add_option("--journey,-j", o.journey, "local, local-encrypted or icloud-backup")
        ->required();
    add_password_options(cmd, &o.keys);
    cmd->add_flag("--fast-kdf", o.fast_kdf,
                  "Tiny PBKDF2 counts (10 + 10) instead of 10,000,000 + 10,000: for tests and "
                  "demos only; such a backup's password protects nothing");
    add_seed_and_format(cmd, &o.run);
  });
  add_command(app, status, "restore", run_restore, [](CLI::App* cmd, RestoreCommandOptions& o) {
    cmd->add_option("BACKUP", o.bundle,
                    "The backup folder (written by kcbackup, Finder, iTunes or idevicebackup2)")
        ->required();
    cmd->add_option("DIR", o.device, "The target device directory")->required();
    add_backup_key_options(cmd, &o.keys);
    add_seed_and_format(cmd, &o.run);
  });
  add_command(app, status, "migrate", run_migrate, [](CLI::App* cmd, MigrateOptions& o) {
    cmd->add_option("FROM", o.from, "The old device directory")->required();
    cmd->add_option("TO", o.to, "The new device directory")->required();
    cmd->add_flag("--fast-kdf", o.fast_kdf,
                  "Tiny PBKDF2 counts for tests and demos (the transfer is simulated "
                  "in-process)");
    add_seed_and_format(cmd, &o.run);
  });
}

}  // namespace kcb::cli
