// `kcbackup inspect backup`, `extract` and `unlock`: real backup folders (kcbackup/backup_folder.h)
// opened with what the user has, the per-item report from the harness (kcbackup/backup_report.h),
// printed as render/ lays it out (kcbackup/backup_render.h). Exit codes from the engine's Status: a
// wrong password or key 3, a malformed folder 2, an unreadable one 4.
#include <unistd.h>

#include <ostream>
#include <vector>

#include "cli/commands.h"
#include "cli/folder_commands.h"
#include "cli/seed.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/backup_keys.h"
#include "kcbackup/backup_render.h"
#include "kcbackup/backup_report.h"
#include "kcbackup/device.h"
#include "kcbackup/names.h"
#include "kcbackup/utf8.h"

namespace kcb::cli {
namespace {

// One extracted file is held in memory once: the cap a real app's database stays under.
inline constexpr size_t kMaxExtractBytes = size_t{2} << 30;

// Progress for a person watching: only on a terminal and never beside JSON. One line, rewritten
// at each stage ("deriving the password key" during a real 10,000,000-round KDF, the Manifest.db
// rows of a large folder) and erased when the folder is open, so nothing of it stays on screen.
constexpr const char* kEraseLine = "\r\x1b[K";
std::function<void(std::string_view, size_t, size_t)> progress_for(std::ostream& err,
                                                                   Format format) {
  if (format != Format::kText || isatty(STDERR_FILENO) != 1) return nullptr;
  return [&err](std::string_view stage, size_t done, size_t total) {
    err << kEraseLine << stage;
    if (total > 0) err << " " << done << "/" << total;
    err << std::flush;
  };
}

// The folder opened with what the user gave, its progress erased from the screen once it is open.
Result<OpenedBackupFolder> open_folder(Env& env, const std::string& dir,
                                       const BackupKeySources& keys, Format format,
                                       std::ostream& err) {
  auto progress = progress_for(err, format);
  const bool shown = progress != nullptr;
  auto opened = open_backup_folder(env, dir, keys, std::move(progress));
  if (shown) err << kEraseLine << std::flush;
  return opened;
}

// Refuses to replace what is there: an extracted file or a key never overwrites a user's file.
Status refuse_existing(Env& env, const std::string& path, std::string_view option) {
  if (env.kind_of(path) == FileKind::kMissing) return Status::Ok();
  return Status::AlreadyExists(std::string(option) + " " + printable_text(path) +
                               ": exists; choose a new name");
}

}  // namespace

Status run_inspect_backup(const InspectBackupOptions& o, Env& env, std::ostream& out,
                          std::ostream& err) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.seed));
  KCB_ASSIGN_OR_RETURN(OpenedBackupFolder opened, open_folder(env, o.dir, o.keys, o.format, err));
  KCB_ASSIGN_OR_RETURN(BackupReport report, report_backup(opened, *random));
  out << render::backup_folder_report(o.dir, *opened.backup, report, o.files, o.format);
  return Status::Ok();
}

Status run_extract(const ExtractOptions& o, Env& env, std::ostream& out, std::ostream& err) {
  KCB_RETURN_IF_ERROR(refuse_existing(env, o.out, "-o"));
  KCB_ASSIGN_OR_RETURN(OpenedBackupFolder opened, open_folder(env, o.dir, o.keys, o.format, err));
  const BackupFileEntry* entry = opened.backup->find(o.domain, o.path);
  if (entry == nullptr || entry->flags != 1) {
    return Status::NotFound(printable_text(o.dir) + ": no file " + printable_text(o.domain) +
                            " / " + printable_text(o.path) + " in Manifest.db" +
                            (entry ? " (it is a folder or a symlink)" : ""));
  }
  auto plaintext = opened.backup->read_file(*entry, kMaxExtractBytes);
  if (!plaintext.ok()) return plaintext.status().with_context(o.dir);
  KCB_RETURN_IF_ERROR(write_file_atomically(env, o.out, plaintext->view()));
  out << render::extract_report({o.dir, o.domain, o.path, o.out, entry, plaintext->size()},
                                o.format);
  return Status::Ok();
}

Status run_unlock(const UnlockOptions& o, Env& env, std::ostream& out, std::ostream& err) {
  KCB_RETURN_IF_ERROR(refuse_existing(env, o.key_out, "--key-out"));
  KCB_ASSIGN_OR_RETURN(OpenedBackupFolder opened, open_folder(env, o.dir, o.keys, o.format, err));
  const SecretBytes& key = opened.backup->password_key();
  if (key.empty()) {
    return Status::InvalidArgument(printable_text(o.dir) +
                                   ": no class of its keybag is wrapped with a password");
  }
  KCB_RETURN_IF_ERROR(write_key_file(env, o.key_out, key).with_context("--key-out"));
  err << "warning: " << printable_text(o.key_out)
      << " opens the backup like its password: keep it as safe, delete it when done\n";
  out << render::unlock_report(o.dir, o.key_out, key.size(), o.format);
  return Status::Ok();
}

Result<AuditInput> audit_input_from_backup(const std::string& dir, const std::string& access_group,
                                           const BackupKeySources& keys, Format format,
                                           std::ostream& err, Env& env) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(""));
  KCB_ASSIGN_OR_RETURN(OpenedBackupFolder opened, open_folder(env, dir, keys, format, err));
  KCB_ASSIGN_OR_RETURN(BackupReport report, report_backup(opened, *random));
  std::vector<FoundItem> found;
  for (const ReportedItem* r : items_of_access_group(report, access_group))
    found.push_back({r->account, r->service, *r->traits});
  const size_t undecoded = report.undecoded_count();
  if (undecoded > 0) {
    err << "note: " << undecoded << " item(s) of " << printable_text(dir)
        << " did not decode, so their access group is unknown"
        << (opened.device ? "" : " (give the source device with --device)") << "\n";
  }
  if (found.empty()) {
    std::string list;
    for (const std::string& g : decoded_access_groups(report))
      list += (list.empty() ? "" : ", ") + printable_text(g);
    return Status::InvalidArgument(
        "--access-group " + printable_text(access_group) + ": no item of " + printable_text(dir) +
        " has it; its decoded items' groups: " + (list.empty() ? "none" : list));
  }
  return audit_input_of_found(found);
}

void add_inspect_backup_command(CLI::App& inspect, Status& status) {
  add_command(
      inspect, status, "backup", run_inspect_backup, [](CLI::App* cmd, InspectBackupOptions& o) {
        cmd->add_option("DIR", o.dir, "The backup folder")->required();
        add_backup_key_options(cmd, &o.keys,
                               "The source device: its key 0x835 opens the device-layer classes");
        cmd->add_flag("--files", o.files,
                      "Also list every file: domain, path, size, protection class");
        add_seed_option(cmd, &o.seed);
        add_format_option(cmd, &o.format, false);
      });
}

void add_folder_commands(CLI::App& app, Status& status) {
  add_command(app, status, "extract", run_extract, [](CLI::App* cmd, ExtractOptions& o) {
    cmd->add_option("DIR", o.dir, "The backup folder")->required();
    cmd->add_option("--domain", o.domain, "The file's domain (AppDomain-com.example.app)")
        ->required();
    cmd->add_option("--path", o.path, "The file's path in its domain")->required();
    cmd->add_option("-o,--out", o.out, "Where to write the plaintext (must not exist)")->required();
    add_backup_key_options(cmd, &o.keys,
                           "The source device, for a file of a class with the device layer");
    add_format_option(cmd, &o.format, false);
  });
  add_command(app, status, "unlock", run_unlock, [](CLI::App* cmd, UnlockOptions& o) {
    cmd->add_option("DIR", o.dir, "The backup folder")->required();
    add_password_options(cmd, &o.keys);
    cmd->add_option("--key-out", o.key_out, "Where to write the key (must not exist)")->required();
    add_format_option(cmd, &o.format, false);
  });
}

}  // namespace kcb::cli
