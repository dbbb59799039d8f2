// The reports of the device commands.
#include "kcbackup/device_render.h"

#include "kcbackup/backup_report.h"
#include "kcbackup/names.h"
#include "render/render_util.h"

namespace kcb::render {
namespace {

// {"schema": "kcbackup.device.<command>.v1", "version": ..., "device": DIR}: how every device
// command's JSON starts.
Json device_doc(std::string_view command, const std::string& dir) {
  Json doc = envelope("device." + std::string(command));
  doc["device"] = dir;
  return doc;
}

// The settings every device command that prints a device shows, in JSON.
void settings_json(const Device& device, Json& doc) {
  doc["passcode"] = device.has_passcode();
  doc["icloud_keychain"] = device.icloud_keychain();
  doc["persistent_refs"] = name_of(device.persistent_refs());
  doc["sos"] = device.sos();
}

std::string settings_text(const Device& device) {
  return "passcode " + std::string(on_off(device.has_passcode())) + ", iCloud Keychain " +
         std::string(on_off(device.icloud_keychain())) + ", " +
         std::string(name_of(device.persistent_refs())) + " references, SOS " +
         std::string(on_off(device.sos()));
}

Json stored_items_json(const std::vector<StoredItem>& items, bool show_secrets) {
  Json list = Json::array();
  for (const StoredItem& s : items) {
    Json item = item_json(s.item, show_secrets);
    const Traits t = traits_of(s.item);
    item["rowid"] = s.rowid;
    item["persistent_ref_hex"] = to_hex(s.persistent_ref);
    item["app_clip"] = t.app_clip;
    item["sysbound"] = name_of(t.system_bound);
    item["tombstone"] = t.tombstone;
    list.push_back(std::move(item));
  }
  return list;
}

std::string stored_items_text(const std::vector<StoredItem>& items, bool show_secrets) {
  if (items.empty()) return "";
  Table table{{"row", "class", "account", "service", "accessible", "flags"}, {}};
  if (show_secrets) table.headers.push_back("secret (hex)");
  for (const StoredItem& s : items) {
    const Traits t = traits_of(s.item);
    table.rows.push_back({std::to_string(s.rowid), std::string(name_of(t.item_class)),
                          display_text(s.item.account()), display_text(s.item.service()),
                          accessible_text(t.accessible), flags_text(t)});
    if (show_secrets) table.rows.back().push_back(to_hex(s.item.secret().view()));
  }
  return table_text(table);
}

Json app_file_json(const AppFile& f) {
  return {{"domain", json_text(as_bytes(f.domain))},
          {"path", json_text(as_bytes(f.relative_path))},
          {"size", f.contents.size()},
          {"protection_class", f.protection_class},
          {"protection_class_name", protection_class_name(f.protection_class)}};
}

}  // namespace

std::string device_created_report(const std::string& dir, const Device& device, Format format) {
  if (format == Format::kJson) {
    Json doc = device_doc("init", dir);
    doc["unique_device_id"] = device.unique_device_id();
    settings_json(device, doc);
    return document(doc);
  }
  return "Created device " + display_text(dir) + "\n  UniqueDeviceID  " +
         device.unique_device_id() + "\n  passcode        " +
         std::string(on_off(device.has_passcode())) + "\n  iCloud Keychain " +
         std::string(on_off(device.icloud_keychain())) + "\n  references      " +
         std::string(name_of(device.persistent_refs())) + "\n  SOS             " +
         std::string(on_off(device.sos())) + "\n";
}

std::string device_settings_report(const std::string& dir, const Device& device, bool renews,
                                   size_t renewed, Format format) {
  if (format == Format::kJson) {
    Json doc = device_doc("set", dir);
    settings_json(device, doc);
    doc["references_renewed"] = renewed;
    return document(doc);
  }
  std::string out = display_text(dir) + ": " + settings_text(device);
  if (renews) out += "; " + std::to_string(renewed) + " item reference(s) renewed (R11)";
  return out + "\n";
}

std::string item_added_report(const std::string& dir, const AddedItem& a, Format format) {
  if (format == Format::kJson) {
    Json doc = device_doc("add", dir);
    doc["rowid"] = a.rowid;
    doc["class"] = name_of(a.traits.item_class);
    doc["account"] = json_text(as_bytes(a.account));
    doc["service"] = json_text(as_bytes(a.service));
    doc["accessible"] = names_of(a.traits.accessible).pdmn;
    doc["persistent_ref_hex"] = to_hex(a.persistent_ref);
    return document(doc);
  }
  return "Added " + std::string(name_of(a.traits.item_class)) + " item " + display_text(a.account) +
         " / " + display_text(a.service) + " (" + accessible_text(a.traits.accessible) +
         ") as row " + std::to_string(a.rowid) + "\n";
}

std::string item_changed_report(const std::string& dir, std::string_view command, ItemClass c,
                                int64_t rowid, Format format) {
  if (format == Format::kJson) {
    Json doc = device_doc(command, dir);
    doc["class"] = name_of(c);
    doc["rowid"] = rowid;
    return document(doc);
  }
  return std::string(command == "update" ? "Updated" : "Deleted") + " " + std::string(name_of(c)) +
         " row " + std::to_string(rowid) + " on " + display_text(dir) + "\n";
}

std::string device_list_report(const std::string& dir, const Device& device,
                               const std::vector<StoredItem>& items, size_t unreadable,
                               bool show_secrets, Format format) {
  if (format == Format::kJson) {
    Json doc = device_doc("list", dir);
    doc["unique_device_id"] = device.unique_device_id();
    settings_json(device, doc);
    doc["items"] = stored_items_json(items, show_secrets);
    doc["unreadable_rows"] = unreadable;
    return document(doc);
  }
  std::string out = display_text(dir) + ": " + settings_text(device) + ", " +
                    std::to_string(items.size()) + " item" + (items.size() == 1 ? "" : "s");
  if (unreadable > 0) out += " and " + std::to_string(unreadable) + " unreadable row(s)";
  return out + "\n" + stored_items_text(items, show_secrets);
}

std::string passcode_report(const std::string& dir, bool on, size_t deleted, Format format) {
  if (format == Format::kJson) {
    Json doc = device_doc("passcode", dir);
    doc["passcode"] = on;
    doc["deleted"] = deleted;
    return document(doc);
  }
  std::string out = "Passcode " + std::string(on_off(on)) + " on " + display_text(dir);
  if (!on) {
    out += ": " + std::to_string(deleted) + " WhenPasscodeSetThisDeviceOnly item(s) deleted (R8)";
  }
  return out + "\n";
}

std::string erase_report(const std::string& dir, const Device& device, size_t removed,
                         Format format) {
  if (format == Format::kJson) {
    Json doc = device_doc("erase", dir);
    doc["removed"] = removed;
    doc["unique_device_id"] = device.unique_device_id();
    return document(doc);
  }
  return "Erased " + display_text(dir) + ": " + std::to_string(removed) +
         " item(s) removed, fresh class keys; the UID (UniqueDeviceID " +
         device.unique_device_id() + ") stays\n";
}

std::string app_file_put_report(const std::string& dir, const AppFile& file, Format format) {
  if (format == Format::kJson) {
    Json doc = envelope("device.put");
    doc["device"] = json_text(as_bytes(dir));
    doc["file"] = app_file_json(file);
    return document(doc);
  }
  return "Put " + display_text(file.domain) + " / " + display_text(file.relative_path) + " (" +
         std::to_string(file.contents.size()) + " bytes, protection class " +
         protection_class_text(file.protection_class) + ") on " + display_text(dir) + "\n";
}

std::string app_files_report(const std::string& dir, const std::vector<AppFile>& files,
                             Format format) {
  if (format == Format::kJson) {
    Json doc = envelope("device.files");
    doc["device"] = json_text(as_bytes(dir));
    doc["files"] = Json::array();
    for (const AppFile& f : files)
      doc["files"].push_back(app_file_json(f));
    return document(doc);
  }
  std::string out = display_text(dir) + ": " + std::to_string(files.size()) + " app file" +
                    (files.size() == 1 ? "" : "s") + "\n";
  Table table{{"domain", "path", "size", "protection class"}, {}};
  for (const AppFile& f : files) {
    table.rows.push_back({display_text(f.domain), display_text(f.relative_path),
                          std::to_string(f.contents.size()),
                          protection_class_text(f.protection_class)});
  }
  return files.empty() ? out : out + table_text(table);
}

}  // namespace kcb::render
