// `kcbackup backup`, `restore` and `migrate`: the engine's journeys (engine/backup.h) over device
// directories and backup folders. Real KDF counts by default; --fast-kdf uses kFastKdf, which
// protects nothing and exists for tests and demos. Exit codes: 3 for a wrong or missing password,
// 2 for a malformed backup folder, 4 for I/O; on any error the target device is unchanged (the
// engine validates before it writes).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <ostream>
#include <vector>

#include "cli/commands.h"
#include "cli/item_format.h"
#include "cli/seed.h"
#include "engine/blob.h"
#include "engine/keybag.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/device.h"
#include "kcbackup/inspection.h"
#include "kcbackup/names.h"

namespace kcb::cli {
namespace {

std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
    digits.insert(static_cast<size_t>(i), ",");
  return digits;
}

// Real counts take seconds: say so, but only to a person watching.
void note_kdf_cost(std::ostream& err, uint32_t iterations, uint32_t dp_iterations) {
  if (isatty(STDERR_FILENO) != 1) return;
  err << "Deriving the backup key (PBKDF2, " << with_commas(dp_iterations) << " + "
      << with_commas(iterations) << " rounds); this takes a few seconds..." << std::endl;
}

std::string fate_text(const ItemFate& f) {
  if (f.restored) return paint("restored", "32");
  // R13: the device's own synchronizable item with this primary key stays; never "lost".
  if (f.kept) return paint("kept", "33") + ": the device's own synchronizable item stays (R13)";
  return paint("lost", "31") + ": " + std::string(loss_reason_name(f.reason));
}

// An item that did not decode has no attributes; its blob header still names its key class (not
// authenticated, so it is marked as coming from there).
std::optional<Accessibility> header_accessibility(const ItemFate& f) {
  if (!f.header_key_class) return std::nullopt;
  return accessibility_from_key_class(*f.header_key_class);
}

// R11: whether a reference an app stored from the backed-up device still resolves afterwards.
RefFate reference_fate(const ItemFate& f) {
  if (f.outcome() == Outcome::kLost) return RefFate::kNone;
  return f.persistent_ref == f.backup_ref ? RefFate::kKept : RefFate::kRenewed;
}

Json fate_json(const ItemFate& f) {
  std::optional<Accessibility> accessible = f.accessible;
  std::string source = "item";
  if (!accessible) {
    accessible = header_accessibility(f);
    source = "blob-header";
  }
  Json out = {
      {"class", name_of(f.item_class)},
      {"index", f.index},
      {"account", json_text(as_bytes(f.account))},
      {"service", json_text(as_bytes(f.service))},
      {"accessible", accessible ? Json(names_of(*accessible).pdmn) : Json(nullptr)},
      {"accessible_from", accessible ? Json(source) : Json(nullptr)},
      {"outcome", name_of(f.outcome())},
      {"reason", f.outcome() == Outcome::kLost ? std::string(loss_reason_name(f.reason)) : ""},
      {"backup_ref_hex", to_hex(f.backup_ref)}};
  out["reference"] = name_of(reference_fate(f));
  if (f.outcome() == Outcome::kLost) {
    out["detail"] = json_text(as_bytes(f.detail));
  } else {
    out["persistent_ref_hex"] = to_hex(f.persistent_ref);
  }
  return out;
}

// The items the export filter kept on the source (R1, R10, R15), with the rule and the reason:
// `backup` and `migrate` account for every item of the source this way.
void add_left_on_device(Json& doc, const std::vector<LeftOnDevice>& left_on_device) {
  doc["left_on_device"] = left_on_device.size();
  Json left = Json::array();
  for (const LeftOnDevice& l : left_on_device) {
    left.push_back({{"class", name_of(l.item_class)},
                    {"row", l.rowid},
                    {"account", json_text(as_bytes(l.account))},
                    {"service", json_text(as_bytes(l.service))},
                    {"rule", l.rule},
                    {"reason", l.reason}});
  }
  doc["left_on_device_items"] = left;
}

void print_left_on_device(std::ostream& out, const std::vector<LeftOnDevice>& left_on_device) {
  for (const LeftOnDevice& l : left_on_device) {
    out << "  left: " << name_of(l.item_class) << " row " << l.rowid << " "
        << display_text(l.account) << " / " << display_text(l.service) << ": " << l.rule << ", "
        << l.reason << "\n";
  }
}

// The per-item fates of a restore or a migration, and a one-line summary.
void print_report(std::ostream& out, const RestoreReport& report, Format format, Json doc) {
  if (format == Format::kJson) {
    Json items = Json::array();
    for (const ItemFate& f : report.items)
      items.push_back(fate_json(f));
    doc["items"] = items;
    doc["restored"] = report.restored_count();
    doc["kept"] = report.kept_count();
    doc["replaced"] = report.replaced;
    doc["warnings"] = warnings_json(report.warnings);
    print_json(out, doc);
    return;
  }
  Table table{{"class", "account", "service", "accessible", "fate", "reference"}, {}};
  for (const ItemFate& f : report.items) {
    const auto from_header = header_accessibility(f);
    std::string accessible = "?";
    if (f.accessible) {
      accessible = accessible_text(*f.accessible);
    } else if (from_header) {
      accessible = accessible_text(*from_header) + "*";
    }
    const bool decoded = f.accessible.has_value();
    table.rows.push_back({std::string(name_of(f.item_class)) + " #" + std::to_string(f.index),
                          decoded ? display_text(f.account) : "?",
                          decoded ? display_text(f.service) : "?", accessible, fate_text(f),
                          std::string(name_of(reference_fate(f)))});
  }
  if (!report.items.empty()) print_table(out, table, Format::kText);
  out << report.restored_count() << " of " << report.items.size() << " item(s) restored";
  if (report.kept_count() > 0) {
    out << ", " << report.kept_count()
        << " kept (the device's own synchronizable version stays, R13)";
  }
  out << "; " << report.replaced << " item(s) already on the device were replaced (R7)\n";
  print_warnings(out, report.warnings);
  if (std::any_of(report.items.begin(), report.items.end(),
                  [&](const ItemFate& f) { return !f.accessible && header_accessibility(f); })) {
    out << "* from the blob header: the item did not decode\n";
  }
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
Result<SecretBytes> new_backup_password(const PasswordOptions& o, Env& env) {
  KCB_ASSIGN_OR_RETURN(auto password, read_password(o, env, "New backup password", Ask::kTwice));
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
  if (!encrypted && (!o.password.file.empty() || o.password.value_given)) {
    // Silently writing an unencrypted backup for a user who gave a password would be the worst
    // answer; KCBACKUP_PASSWORD in the environment is not a request for this backup, so it is not
    // refused.
    return Status::InvalidArgument("backup: --journey " + std::string(name_of(journey)) +
                                   " takes no password (only local-encrypted does)");
  }
  if (encrypted) {
    KCB_ASSIGN_OR_RETURN(SecretBytes password, new_backup_password(o.password, env));
    options.password = password_string(password);
    if (!o.fast_kdf) note_kdf_cost(err, options.kdf.iterations, options.kdf.dp_iterations);
  }
  BackupSummary summary;
  auto folder = make_backup(*device, options, *random, &summary);
  wipe_password(options.password);
  if (!folder.ok()) return folder.status().with_context("backup");
  KCB_RETURN_IF_ERROR(write_backup_folder(env, o.bundle, *folder));
  if (o.run.format == Format::kJson) {
    Json doc = json_envelope("backup");
    doc["backup"] = o.bundle;
    doc["journey"] = name_of(journey);
    doc["encrypted"] = encrypted;
    doc["unique_device_id"] = device->unique_device_id();
    doc["items"] = summary.items;
    add_left_on_device(doc, summary.left_on_device);
    doc["files"] = folder->files.size();
    doc["fast_kdf"] = o.fast_kdf;
    print_json(out, doc);
  } else {
    out << "Wrote " << display_text(o.bundle) << " (" << name_of(journey)
        << (encrypted ? ", encrypted" : ", not encrypted")
        << (o.fast_kdf ? ", FAST KDF: protects nothing" : "") << "): " << summary.items
        << " item(s) backed up, " << summary.left_on_device.size()
        << " left on the device by the export filter (R1, R10, R15)\n";
    print_left_on_device(out, summary.left_on_device);
  }
  return Status::Ok();
}

Status run_restore(const RestoreCommandOptions& o, Env& env, std::ostream& out, std::ostream& err) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.run.seed));
  const DiskFolder folder(env, o.bundle);
  const std::string context =
      "restore " + display_text(o.bundle) + " onto " + display_text(o.device);
  auto manifest = read_folder_manifest(folder);
  if (!manifest.ok()) return manifest.status().with_context(context);
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.device));
  RestoreOptions options;
  if (!o.key_file.empty()) {
    KCB_ASSIGN_OR_RETURN(Bytes text, env.read_file(o.key_file, 4096));
    KCB_ASSIGN_OR_RETURN(options.password_key, parse_backup_key_file(text));
    wipe(text);
  } else if (manifest->is_encrypted) {
    KCB_ASSIGN_OR_RETURN(auto password, read_password(o.password, env, "Backup password"));
    if (password) options.password = password_string(*password);
    note_restore_kdf_cost(err, *manifest);
  }
  auto report = restore_backup(folder, *device, options, *random);
  wipe_password(options.password);
  if (!report.ok()) return report.status().with_context(context);
  Json doc = json_envelope("restore");
  doc["backup"] = o.bundle;
  doc["device"] = o.device;
  doc["journey"] = json_text(as_bytes(manifest->journey));
  print_report(out, *report, o.run.format, doc);
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
  Json doc = json_envelope("migrate");
  doc["from"] = o.from;
  doc["to"] = o.to;
  add_left_on_device(doc, report->left_on_device);
  print_report(out, *report, o.run.format, doc);
  if (o.run.format != Format::kJson) {
    out << report->left_on_device.size()
        << " item(s) left on the old device by the export filter (R1, R10, R15)\n";
    print_left_on_device(out, report->left_on_device);
  }
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
    add_password_options(cmd, &o.password);
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
    add_password_options(cmd, &o.password);
    cmd->add_option("--key-file", o.key_file,
                    "The backup key from `kcbackup unlock --key-out` instead of the password "
                    "(skips the key derivation)");
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
