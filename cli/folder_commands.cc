// `kcbackup inspect backup`, `extract` and `unlock`: real backup folders (kcbackup/backup_folder.h)
// opened with what the user has, the per-item report from the harness (kcbackup/backup_report.h),
// printed. Exit codes from the engine's Status: a wrong password or key 3, a malformed folder 2,
// an unreadable one 4.
#include <sys/stat.h>
#include <unistd.h>

#include <ostream>
#include <set>
#include <vector>

#include "cli/commands.h"
#include "cli/folder_commands.h"
#include "cli/item_format.h"
#include "cli/seed.h"
#include "cli/verdict_format.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/backup_report.h"
#include "kcbackup/device.h"
#include "kcbackup/names.h"

namespace kcb::cli {
namespace {

// A key file is one line of 64 hex digits; anything much larger is the wrong file.
inline constexpr size_t kMaxKeyFileBytes = 256;
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

// Everything a folder command opens: the source, the --device (read-only) and the backup.
struct Opened {
  std::unique_ptr<DiskFolder> folder;
  std::unique_ptr<Device> device;
  std::optional<OpenedBackup> backup;
  BackupKeys keys;
};

Result<Opened> open_folder(Env& env, const std::string& dir, const BackupKeyOptions& key_options,
                           const std::string& device_dir, Format format, std::ostream& err) {
  Opened o;
  o.folder = std::make_unique<DiskFolder>(env, dir);
  KCB_ASSIGN_OR_RETURN(o.keys, read_backup_keys(key_options, env, dir));
  if (!device_dir.empty()) {
    auto device = Device::open(env, device_dir, {DeviceAccess::kReadOnly});
    if (!device.ok()) return device.status().with_context("--device");
    o.device = std::move(*device);
  }
  BackupOpenOptions options;
  options.password = o.keys.password;
  options.password_key = o.keys.key;
  options.device = o.device.get();
  options.progress = progress_for(err, format);
  auto backup = OpenedBackup::open(*o.folder, options);
  wipe_password(options.password);  // o.keys keeps the one copy, wiped when it dies
  if (options.progress) err << kEraseLine << std::flush;
  if (!backup.ok()) return backup.status().with_context(dir);
  o.backup.emplace(std::move(*backup));
  return o;
}

size_t files_in(const BackupReport& r) {
  size_t n = 0;
  for (const DomainCount& d : r.domains)
    n += d.files;
  return n;
}

std::string yes_no(bool b) {
  return b ? "yes" : "no";
}

// "restored (R3)" / "lost (R2)" / "-" when the oracle has no answer for that target.
std::string verdict_cell(const std::optional<Verdict>& v) {
  if (!v) return "-";
  return std::string(name_of(v->outcome)) + " (" + rules_text(v->rules) + ")";
}

std::string engine_cell(const EngineSide& e) {
  return std::string(name_of(e.state));
}

Json engine_json(const EngineSide& e) {
  Json j = {{"state", name_of(e.state)}};
  if (!e.detail.empty()) j["detail"] = json_text(as_bytes(e.detail));
  return j;
}

Json item_report_json(const ReportedItem& r) {
  Json j = {{"class", name_of(r.item_class)},
            {"index", r.index},
            {"key_class", r.key_class ? Json(*r.key_class) : Json()},
            {"decoded", r.decoded}};
  j["accessible"] = r.traits ? Json(names_of(r.traits->accessible).name) : Json();
  j["accessible_from"] = !r.traits ? Json() : Json(r.traits_from_header ? "blob-header" : "item");
  if (r.decoded) {
    j["access_group"] = json_text(as_bytes(r.access_group));
    j["account"] = json_text(r.account);
    j["service"] = json_text(r.service);
    j["synchronizable"] = r.traits->synchronizable;
    j["app_clip"] = r.traits->app_clip;
  }
  j["persistent_ref_kind"] = r.persistent_ref_kind;
  auto side = [](const std::optional<Verdict>& v, const EngineSide& e) {
    return Json{{"oracle", v ? verdict_json(*v) : Json()}, {"engine", engine_json(e)}};
  };
  j["same_device"] = side(r.oracle_same, r.engine_same);
  j["other_device"] = side(r.oracle_other, r.engine_other);
  return j;
}

Json lockdown_json(const LockdownInfo& l) {
  return {{"unique_device_id", json_text(as_bytes(l.unique_device_id))},
          {"product_type", json_text(as_bytes(l.product_type))},
          {"product_version", json_text(as_bytes(l.product_version))},
          {"build_version", json_text(as_bytes(l.build_version))},
          {"device_name", json_text(as_bytes(l.device_name))}};
}

Json backup_json(const std::string& dir, const OpenedBackup& b, const BackupReport& r, bool files) {
  Json doc = json_envelope("inspect.backup");
  doc["backup"] = json_text(as_bytes(dir));
  doc["lockdown"] = lockdown_json(b.manifest().lockdown);
  doc["encrypted"] = r.encrypted;
  doc["journey"] = name_of(r.journey);
  doc["date"] = b.manifest().date;
  doc["file_count"] = r.file_count;
  doc["domains"] = Json::array();
  for (const DomainCount& d : r.domains) {
    doc["domains"].push_back({{"domain", json_text(as_bytes(d.domain))},
                              {"files", d.files},
                              {"recorded_bytes", d.recorded_bytes}});
  }
  doc["classes"] = Json::array();
  for (const ReportedClass& c : r.classes) {
    doc["classes"].push_back({{"class", c.class_number},
                              {"name", protection_class_name(c.class_number)},
                              {"wrap", c.wrap},
                              {"opens_with_password_alone", c.opens_with_password_alone},
                              {"unlocked", c.unlocked},
                              {"locked_reason", json_text(as_bytes(c.locked_reason))}});
  }
  doc["items"] = Json::array();
  for (const ReportedItem& item : r.items)
    doc["items"].push_back(item_report_json(item));
  if (files) {
    doc["files"] = Json::array();
    for (const BackupFileEntry& f : b.files()) {
      doc["files"].push_back({{"domain", json_text(as_bytes(f.domain))},
                              {"path", json_text(as_bytes(f.relative_path))},
                              {"flags", f.flags},
                              {"size", f.size},
                              {"protection_class", f.protection_class},
                              {"file_id", f.file_id}});
    }
  }
  doc["warnings"] = warnings_json(r.warnings);
  return doc;
}

void print_backup_text(std::ostream& out, const std::string& dir, const OpenedBackup& b,
                       const BackupReport& r, bool files) {
  const LockdownInfo& l = b.manifest().lockdown;
  out << "Backup " << display_text(dir) << ": " << name_of(r.journey) << ", "
      << (r.encrypted ? "encrypted" : "not encrypted") << "\n  device  "
      << display_text(l.product_type) << ", iOS " << display_text(l.product_version) << " ("
      << display_text(l.build_version) << "), \"" << display_text(l.device_name)
      << "\", UniqueDeviceID " << display_text(l.unique_device_id) << "\n  files   " << files_in(r)
      << " in " << r.domains.size() << " domain(s), " << r.file_count
      << " Manifest.db row(s) with the folders\n";
  Table domains{{"  domain", "files"}, {}};
  for (const DomainCount& d : r.domains)
    domains.rows.push_back({"  " + display_text(d.domain), std::to_string(d.files)});
  print_table(out, domains, Format::kText);

  out << "\nKeybag classes (the password alone opens those without the device layer):\n";
  Table classes{{"class", "protection", "wrap", "password alone", "unlocked"}, {}};
  for (const ReportedClass& c : r.classes) {
    classes.rows.push_back({std::to_string(c.class_number),
                            std::string(protection_class_name(c.class_number)),
                            std::to_string(c.wrap), yes_no(c.opens_with_password_alone),
                            c.unlocked ? "yes" : "no: " + c.locked_reason});
  }
  print_table(out, classes, Format::kText);

  out << "\nKeychain: " << r.items.size() << " item(s), " << r.undecoded_count()
      << " not decoded; fates on restore (oracle: iCloud Keychain off) and what the engine "
         "unwraps:\n";
  Table items{{"item", "accessible", "access group", "account", "service", "sync", "clip", "ref",
               "same: oracle", "same: engine", "other: oracle", "other: engine"},
              {}};
  bool from_header = false;
  for (const ReportedItem& i : r.items) {
    from_header |= i.traits_from_header;
    std::string accessible = "?";
    if (i.traits) accessible = std::string(names_of(i.traits->accessible).name);
    if (i.traits_from_header) accessible += "*";
    items.rows.push_back({std::string(name_of(i.item_class)) + " #" + std::to_string(i.index),
                          accessible, i.decoded ? display_text(i.access_group) : "?",
                          i.decoded ? display_text(i.account) : "?",
                          i.decoded ? display_text(i.service) : "?",
                          i.decoded ? yes_no(i.traits->synchronizable) : "?",
                          i.decoded ? yes_no(i.traits->app_clip) : "?", i.persistent_ref_kind,
                          verdict_cell(i.oracle_same), engine_cell(i.engine_same),
                          verdict_cell(i.oracle_other), engine_cell(i.engine_other)});
  }
  if (!r.items.empty()) print_table(out, items, Format::kText);
  if (from_header) {
    out << "* from the blob header (not authenticated): the item did not decode, so the oracle "
           "sees only its class\n";
  }
  if (files) {
    out << "\nFiles:\n";
    Table list{{"domain", "path", "size", "protection class"}, {}};
    for (const BackupFileEntry& f : b.files()) {
      list.rows.push_back({display_text(f.domain), display_text(f.relative_path),
                           f.flags == 1 ? std::to_string(f.size) : "-",
                           f.flags == 1 ? protection_class_text(f.protection_class) : "-"});
    }
    print_table(out, list, Format::kText);
  }
  print_warnings(out, r.warnings);
}

// Refuses to replace what is there: an extracted file or a key never overwrites a user's file.
Status refuse_existing(Env& env, const std::string& path, std::string_view option) {
  if (env.kind_of(path) == FileKind::kMissing) return Status::Ok();
  return Status::AlreadyExists(std::string(option) + " " + display_text(path) +
                               ": exists; choose a new name");
}

}  // namespace

BackupKeys::~BackupKeys() {
  wipe_password(password);
}

void add_backup_key_options(CLI::App* cmd, BackupKeyOptions* o) {
  add_password_options(cmd, &o->password);
  cmd->add_option("--key-file", o->key_file,
                  "The derived backup key `kcbackup unlock --key-out` wrote, instead of the "
                  "password (the KDF does not run)");
}

Result<BackupKeys> read_backup_keys(const BackupKeyOptions& o, Env& env, const std::string& dir) {
  BackupKeys keys;
  if (!o.key_file.empty()) {
    if (!o.password.file.empty() || o.password.value_given) {
      return Status::InvalidArgument("--key-file replaces the password: give one of them");
    }
    auto text = env.read_file(o.key_file, kMaxKeyFileBytes);
    if (!text.ok()) return text.status().with_context("--key-file");
    auto key = parse_backup_key_file(*text);
    wipe(*text);
    if (!key.ok()) return key.status().with_context("--key-file " + display_text(o.key_file));
    keys.key = std::move(*key);
    return keys;
  }
  // Asked for only when the folder says it needs one; an unreadable Manifest is left to the open,
  // which names the problem.
  DiskFolder folder(env, dir);
  auto manifest = read_folder_manifest(folder);
  const Ask ask = manifest.ok() && manifest->is_encrypted ? Ask::kOnce : Ask::kNever;
  KCB_ASSIGN_OR_RETURN(std::optional<SecretBytes> password,
                       read_password(o.password, env, "Backup password", ask));
  if (password) keys.password = password_string(*password);
  return keys;
}

Status run_inspect_backup(const InspectBackupOptions& o, Env& env, std::ostream& out,
                          std::ostream& err) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.seed));
  KCB_ASSIGN_OR_RETURN(Opened opened, open_folder(env, o.dir, o.keys, o.device, o.format, err));
  BackupReportOptions options;
  options.device = opened.device.get();
  options.password = opened.keys.password;
  auto report = report_backup(*opened.backup, options, *random);
  wipe_password(options.password);
  if (!report.ok()) return report.status().with_context(o.dir);
  if (o.format == Format::kJson) {
    print_json(out, backup_json(o.dir, *opened.backup, *report, o.files));
  } else {
    print_backup_text(out, o.dir, *opened.backup, *report, o.files);
  }
  return Status::Ok();
}

Status run_extract(const ExtractOptions& o, Env& env, std::ostream& out, std::ostream& err) {
  KCB_RETURN_IF_ERROR(refuse_existing(env, o.out, "-o"));
  KCB_ASSIGN_OR_RETURN(Opened opened, open_folder(env, o.dir, o.keys, o.device, o.format, err));
  const BackupFileEntry* entry = opened.backup->find(o.domain, o.path);
  if (entry == nullptr || entry->flags != 1) {
    return Status::NotFound(display_text(o.dir) + ": no file " + display_text(o.domain) + " / " +
                            display_text(o.path) + " in Manifest.db" +
                            (entry ? " (it is a folder or a symlink)" : ""));
  }
  auto plaintext = opened.backup->read_file(*entry, kMaxExtractBytes);
  if (!plaintext.ok()) return plaintext.status().with_context(o.dir);
  KCB_RETURN_IF_ERROR(write_file_atomically(env, o.out, plaintext->view()));
  if (o.format == Format::kJson) {
    Json doc = json_envelope("extract");
    doc["backup"] = json_text(as_bytes(o.dir));
    doc["domain"] = json_text(as_bytes(o.domain));
    doc["path"] = json_text(as_bytes(o.path));
    doc["file_id"] = entry->file_id;
    doc["out"] = json_text(as_bytes(o.out));
    doc["bytes"] = plaintext->size();
    doc["protection_class"] = entry->protection_class;
    print_json(out, doc);
    return Status::Ok();
  }
  out << "Wrote " << display_text(o.out) << ": " << display_text(o.domain) << " / "
      << display_text(o.path) << ", " << plaintext->size() << " bytes (protection class "
      << protection_class_text(entry->protection_class) << ")\n";
  return Status::Ok();
}

Status run_unlock(const UnlockOptions& o, Env& env, std::ostream& out, std::ostream& err) {
  KCB_RETURN_IF_ERROR(refuse_existing(env, o.key_out, "--key-out"));
  KCB_ASSIGN_OR_RETURN(Opened opened, open_folder(env, o.dir, o.keys, "", o.format, err));
  const SecretBytes& key = opened.backup->password_key();
  if (key.empty()) {
    return Status::InvalidArgument(display_text(o.dir) +
                                   ": no class of its keybag is wrapped with a password");
  }
  Bytes text = backup_key_file_text(key);
  // Env writes files 0644; a key that opens the backup is the owner's alone, from its first byte
  // on disk (the temporary name included), so the umask is narrowed around the write.
  const mode_t old_mask = ::umask(077);
  const Status written = write_file_atomically(env, o.key_out, text);
  ::umask(old_mask);
  wipe(text);
  KCB_RETURN_IF_ERROR(written.with_context("--key-out"));
  err << "warning: " << display_text(o.key_out)
      << " opens the backup like its password: keep it as safe, delete it when done\n";
  if (o.format == Format::kJson) {
    Json doc = json_envelope("unlock");
    doc["backup"] = json_text(as_bytes(o.dir));
    doc["key_out"] = json_text(as_bytes(o.key_out));
    doc["key_bytes"] = key.size();
    print_json(out, doc);
    return Status::Ok();
  }
  out << "Wrote the backup key of " << display_text(o.dir) << " to " << display_text(o.key_out)
      << " (mode 0600); use it with --key-file\n";
  return Status::Ok();
}

Result<AuditInput> audit_input_from_backup(const std::string& dir, const std::string& access_group,
                                           const BackupKeyOptions& keys, const std::string& device,
                                           Format format, std::ostream& err, Env& env) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(""));
  KCB_ASSIGN_OR_RETURN(Opened opened, open_folder(env, dir, keys, device, format, err));
  BackupReportOptions options;
  options.device = opened.device.get();
  options.password = opened.keys.password;
  auto report = report_backup(*opened.backup, options, *random);
  wipe_password(options.password);
  if (!report.ok()) return report.status().with_context(dir);
  std::vector<FoundItem> found;
  for (const ReportedItem* r : items_of_access_group(*report, access_group))
    found.push_back({r->account, r->service, *r->traits});
  const size_t undecoded = report->undecoded_count();
  if (undecoded > 0) {
    err << "note: " << undecoded << " item(s) of " << display_text(dir)
        << " did not decode, so their access group is unknown"
        << (opened.device ? "" : " (give the source device with --device)") << "\n";
  }
  if (found.empty()) {
    std::set<std::string> groups;
    for (const ReportedItem& r : report->items) {
      if (r.decoded) groups.insert(display_text(r.access_group));
    }
    std::string list;
    for (const std::string& g : groups)
      list += (list.empty() ? "" : ", ") + g;
    return Status::InvalidArgument(
        "--access-group " + display_text(access_group) + ": no item of " + display_text(dir) +
        " has it; its decoded items' groups: " + (list.empty() ? "none" : list));
  }
  return audit_input_of_found(found);
}

void add_inspect_backup_command(CLI::App& inspect, Status& status) {
  add_command(inspect, status, "backup", run_inspect_backup,
              [](CLI::App* cmd, InspectBackupOptions& o) {
                cmd->add_option("DIR", o.dir, "The backup folder")->required();
                add_backup_key_options(cmd, &o.keys);
                cmd->add_option("--device", o.device,
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
    add_backup_key_options(cmd, &o.keys);
    cmd->add_option("--device", o.device,
                    "The source device, for a file of a class with the device layer");
    add_format_option(cmd, &o.format, false);
  });
  add_command(app, status, "unlock", run_unlock, [](CLI::App* cmd, UnlockOptions& o) {
    cmd->add_option("DIR", o.dir, "The backup folder")->required();
    add_password_options(cmd, &o.keys.password);
    cmd->add_option("--key-out", o.key_out, "Where to write the key (must not exist)")->required();
    add_format_option(cmd, &o.format, false);
  });
}

}  // namespace kcb::cli
