// The reports of backup, restore, migrate, inspect backup, extract and unlock.
#include "kcbackup/backup_render.h"

#include <algorithm>

#include "kcbackup/names.h"
#include "render/render_util.h"

namespace kcb::render {
namespace {

std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
    digits.insert(static_cast<size_t>(i), ",");
  return digits;
}

std::string fate_text(const ItemFate& f, bool colour) {
  if (f.restored) return paint("restored", "32", colour);
  // R13: the device's own synchronizable item with this primary key stays; never "lost".
  if (f.kept) {
    return paint("kept", "33", colour) + ": the device's own synchronizable item stays (R13)";
  }
  return paint("lost", "31", colour) + ": " + std::string(loss_reason_name(f.reason));
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
void add_left_json(Json& doc, const std::vector<LeftOnDevice>& left_on_device) {
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

std::string left_text(const std::vector<LeftOnDevice>& left_on_device) {
  std::string out;
  for (const LeftOnDevice& l : left_on_device) {
    out += "  left: " + std::string(name_of(l.item_class)) + " row " + std::to_string(l.rowid) +
           " " + display_text(l.account) + " / " + display_text(l.service) + ": " + l.rule + ", " +
           l.reason + "\n";
  }
  return out;
}

// `doc` (the envelope and the command's own fields) with the report's items and counts.
std::string restore_json(Json doc, const RestoreReport& report) {
  Json items = Json::array();
  for (const ItemFate& f : report.items)
    items.push_back(fate_json(f));
  doc["items"] = items;
  doc["restored"] = report.restored_count();
  doc["kept"] = report.kept_count();
  doc["replaced"] = report.replaced;
  doc["warnings"] = warnings_json(report.warnings);
  return document(doc);
}

std::string fate_accessible_text(const ItemFate& f) {
  if (f.accessible) return accessible_text(*f.accessible);
  const auto from_header = header_accessibility(f);
  return from_header ? accessible_text(*from_header) + "*" : "?";
}

std::string restore_text(const RestoreReport& report, bool colour) {
  Table table{{"class", "account", "service", "accessible", "fate", "reference"}, {}};
  for (const ItemFate& f : report.items) {
    const bool decoded = f.accessible.has_value();
    table.rows.push_back({std::string(name_of(f.item_class)) + " #" + std::to_string(f.index),
                          decoded ? display_text(f.account) : "?",
                          decoded ? display_text(f.service) : "?", fate_accessible_text(f),
                          fate_text(f, colour), std::string(name_of(reference_fate(f)))});
  }
  std::string out = report.items.empty() ? "" : table_text(table);
  out += std::to_string(report.restored_count()) + " of " + std::to_string(report.items.size()) +
         " item(s) restored";
  if (report.kept_count() > 0) {
    out += ", " + std::to_string(report.kept_count()) +
           " kept (the device's own synchronizable version stays, R13)";
  }
  out += "; " + std::to_string(report.replaced) +
         " item(s) already on the device were replaced (R7)\n" + warnings_text(report.warnings);
  if (std::any_of(report.items.begin(), report.items.end(),
                  [&](const ItemFate& f) { return !f.accessible && header_accessibility(f); })) {
    out += "* from the blob header: the item did not decode\n";
  }
  return out;
}

size_t files_in(const BackupReport& r) {
  size_t n = 0;
  for (const DomainCount& d : r.domains)
    n += d.files;
  return n;
}

// "restored (R3)" / "lost (R2)" / "-" when the oracle has no answer for that target.
std::string verdict_cell(const std::optional<Verdict>& v) {
  if (!v) return "-";
  return std::string(name_of(v->outcome)) + " (" + report::rules_text(v->rules) + ")";
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
    return Json{{"oracle", v ? report::verdict_json(*v) : Json()}, {"engine", engine_json(e)}};
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

Json folder_files_json(const OpenedBackup& b) {
  Json list = Json::array();
  for (const BackupFileEntry& f : b.files()) {
    list.push_back({{"domain", json_text(as_bytes(f.domain))},
                    {"path", json_text(as_bytes(f.relative_path))},
                    {"flags", f.flags},
                    {"size", f.size},
                    {"protection_class", f.protection_class},
                    {"file_id", f.file_id()}});
  }
  return list;
}

std::string backup_folder_json(const std::string& dir, const OpenedBackup& b, const BackupReport& r,
                               bool files) {
  Json doc = envelope("inspect.backup");
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
  if (files) doc["files"] = folder_files_json(b);
  doc["warnings"] = warnings_json(r.warnings);
  return document(doc);
}

std::string folder_heading_text(const std::string& dir, const OpenedBackup& b,
                                const BackupReport& r) {
  const LockdownInfo& l = b.manifest().lockdown;
  std::string out = "Backup " + display_text(dir) + ": " + std::string(name_of(r.journey)) + ", " +
                    (r.encrypted ? "encrypted" : "not encrypted") + "\n  device  " +
                    display_text(l.product_type) + ", iOS " + display_text(l.product_version) +
                    " (" + display_text(l.build_version) + "), \"" + display_text(l.device_name) +
                    "\", UniqueDeviceID " + display_text(l.unique_device_id) + "\n  files   " +
                    std::to_string(files_in(r)) + " in " + std::to_string(r.domains.size()) +
                    " domain(s), " + std::to_string(r.file_count) +
                    " Manifest.db row(s) with the folders\n";
  Table domains{{"  domain", "files"}, {}};
  for (const DomainCount& d : r.domains)
    domains.rows.push_back({"  " + display_text(d.domain), std::to_string(d.files)});
  out += table_text(domains);
  out += "\nKeybag classes (the password alone opens those without the device layer):\n";
  Table classes{{"class", "protection", "wrap", "password alone", "unlocked"}, {}};
  for (const ReportedClass& c : r.classes) {
    classes.rows.push_back({std::to_string(c.class_number),
                            std::string(protection_class_name(c.class_number)),
                            std::to_string(c.wrap), yes_no(c.opens_with_password_alone),
                            c.unlocked ? "yes" : "no: " + c.locked_reason});
  }
  return out + table_text(classes);
}

std::string folder_items_text(const BackupReport& r) {
  std::string out = "\nKeychain: " + std::to_string(r.items.size()) + " item(s), " +
                    std::to_string(r.undecoded_count()) +
                    " not decoded; fates on restore (oracle: iCloud Keychain off) and what the "
                    "engine unwraps:\n";
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
  if (!r.items.empty()) out += table_text(items);
  if (from_header) {
    out +=
        "* from the blob header (not authenticated): the item did not decode, so the oracle "
        "sees only its class\n";
  }
  return out;
}

std::string folder_files_text(const OpenedBackup& b) {
  Table list{{"domain", "path", "size", "protection class"}, {}};
  for (const BackupFileEntry& f : b.files()) {
    list.rows.push_back({display_text(f.domain), display_text(f.relative_path),
                         f.flags == 1 ? std::to_string(f.size) : "-",
                         f.flags == 1 ? protection_class_text(f.protection_class) : "-"});
  }
  return "\nFiles:\n" + table_text(list);
}

}  // namespace

std::string backup_report(const BackupWritten& w, const BackupSummary& summary, Format format) {
  if (format == Format::kJson) {
    Json doc = envelope("backup");
    doc["backup"] = w.folder;
    doc["journey"] = name_of(w.journey);
    doc["encrypted"] = w.encrypted;
    doc["unique_device_id"] = w.unique_device_id;
    doc["items"] = summary.items;
    add_left_json(doc, summary.left_on_device);
    doc["files"] = w.files;
    doc["fast_kdf"] = w.fast_kdf;
    return document(doc);
  }
  std::string out = "Wrote " + display_text(w.folder) + " (" + std::string(name_of(w.journey)) +
                    (w.encrypted ? ", encrypted" : ", not encrypted") +
                    (w.fast_kdf ? ", FAST KDF: protects nothing" : "") +
                    "): " + std::to_string(summary.items) + " item(s) backed up, " +
                    std::to_string(summary.left_on_device.size()) +
                    " left on the device by the export filter (R1, R10, R15)\n";
  return out + left_text(summary.left_on_device);
}

std::string kdf_cost_note(uint32_t iterations, uint32_t dp_iterations) {
  return "Deriving the backup key (PBKDF2, " + with_commas(dp_iterations) + " + " +
         with_commas(iterations) + " rounds); this takes a few seconds...\n";
}

std::string restore_report(std::string_view command, const Fields& fields,
                           const RestoreReport& report, Style style) {
  if (style.format != Format::kJson) return restore_text(report, style.colour);
  Json doc = envelope(command);
  for (const auto& [key, value] : fields)
    doc[key] = value;
  return restore_json(doc, report);
}

std::string migrate_report(const std::string& from, const std::string& to,
                           const RestoreReport& report, Style style) {
  if (style.format != Format::kJson) {
    return restore_text(report, style.colour) + std::to_string(report.left_on_device.size()) +
           " item(s) left on the old device by the export filter (R1, R10, R15)\n" +
           left_text(report.left_on_device);
  }
  Json doc = envelope("migrate");
  doc["from"] = from;
  doc["to"] = to;
  add_left_json(doc, report.left_on_device);
  return restore_json(doc, report);
}

std::string backup_folder_report(const std::string& dir, const OpenedBackup& backup,
                                 const BackupReport& report, bool files, Format format) {
  if (format == Format::kJson) return backup_folder_json(dir, backup, report, files);
  return folder_heading_text(dir, backup, report) + folder_items_text(report) +
         (files ? folder_files_text(backup) : "") + warnings_text(report.warnings);
}

std::string extract_report(const Extracted& e, Format format) {
  if (format == Format::kJson) {
    Json doc = envelope("extract");
    doc["backup"] = json_text(as_bytes(e.backup));
    doc["domain"] = json_text(as_bytes(e.domain));
    doc["path"] = json_text(as_bytes(e.path));
    doc["file_id"] = e.entry->file_id();
    doc["out"] = json_text(as_bytes(e.out));
    doc["bytes"] = e.bytes;
    doc["protection_class"] = e.entry->protection_class;
    return document(doc);
  }
  return "Wrote " + display_text(e.out) + ": " + display_text(e.domain) + " / " +
         display_text(e.path) + ", " + std::to_string(e.bytes) + " bytes (protection class " +
         protection_class_text(e.entry->protection_class) + ")\n";
}

std::string unlock_report(const std::string& backup, const std::string& key_out, size_t key_bytes,
                          Format format) {
  if (format == Format::kJson) {
    Json doc = envelope("unlock");
    doc["backup"] = json_text(as_bytes(backup));
    doc["key_out"] = json_text(as_bytes(key_out));
    doc["key_bytes"] = key_bytes;
    return document(doc);
  }
  return "Wrote the backup key of " + display_text(backup) + " to " + display_text(key_out) +
         " (mode 0600); use it with --key-file\n";
}

}  // namespace kcb::render
