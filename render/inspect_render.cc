// The reports of inspect keybag, blob and archive.
#include "kcbackup/inspect_render.h"

#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "render/render_util.h"

namespace kcb::render {
namespace {

Json header_json(const KeybagHeaderFacts& h) {
  Json unknown = Json::array();
  for (const std::string& tag : h.unknown_tags)
    unknown.push_back(json_text(as_bytes(tag)));
  Json j = {{"version", h.version},
            {"type", h.type},
            {"type_name", h.type_name},
            {"type_field", h.type_field},
            {"uuid", h.uuid},
            {"wrap", h.wrap},
            {"salt_hex", to_hex(h.salt)},
            {"iterations", h.iterations},
            {"double_protection", h.double_protection}};
  if (h.double_protection) {
    j["dp_wrap_type"] = h.dp_wrap_type;
    j["dp_iterations"] = h.dp_iterations;
    j["dp_salt_hex"] = to_hex(h.dp_salt);
  }
  j["hmac_key_bytes"] = h.hmac_key_bytes;
  j["unknown_tags"] = unknown;
  return j;
}

Json classes_json(const InspectedKeybag& bag, bool show_secrets) {
  Json list = Json::array();
  for (const ClassUnlock& c : bag.classes()) {
    Json j = {{"class", c.class_number},
              {"accessible", c.accessible ? Json(names_of(*c.accessible).name) : Json(nullptr)},
              {"wrap", c.wrap},
              {"key_type", c.key_type},
              {"unlocked", c.key.has_value()}};
    if (!c.key) j["locked_reason"] = c.locked_reason;
    if (c.device_layer_unchecked) j["device_layer_checked"] = false;
    if (show_secrets && c.key) j["key_hex"] = to_hex(c.key->view());
    list.push_back(j);
  }
  return list;
}

Json manifest_json(const Manifest& m) {
  return {{"encrypted", m.is_encrypted},
          {"unique_device_id", json_text(as_bytes(m.lockdown.unique_device_id))},
          {"journey", json_text(as_bytes(m.journey))}};
}

std::string keybag_json(const std::string& file, const std::optional<Manifest>& manifest,
                        const InspectedKeybag& bag, bool show_secrets) {
  Json doc = envelope("inspect.keybag");
  doc["file"] = json_text(as_bytes(file));
  if (manifest) doc["manifest"] = manifest_json(*manifest);
  doc["header"] = header_json(bag.header());
  doc["password"] = password_use_name(bag.password_use());
  doc["device_key"] = bag.used_device_key();
  doc["classes"] = classes_json(bag, show_secrets);
  return document(doc);
}

std::string manifest_text(const Manifest& m) {
  return "Manifest: " + std::string(m.is_encrypted ? "encrypted" : "not encrypted") + ", journey " +
         (m.journey.empty() ? "-" : display_text(m.journey)) + ", UniqueDeviceID " +
         display_text(m.lockdown.unique_device_id) + "\n";
}

std::string header_text(const KeybagHeaderFacts& h) {
  std::string out;
  auto line = [&out](std::string_view name, const std::string& value) {
    out += "  " + std::string(name) + std::string(20 - name.size(), ' ') + value + "\n";
  };
  line("version", std::to_string(h.version));
  line("type", std::to_string(h.type) + " " + std::string(h.type_name) +
                   (h.type_field != h.type ? " (field " + std::to_string(h.type_field) + ")" : ""));
  line("uuid", h.uuid);
  line("wrap", std::to_string(h.wrap));
  line("salt", to_hex(h.salt));
  line("iterations", std::to_string(h.iterations));
  if (h.double_protection) {
    line("dp_wrap_type", std::to_string(h.dp_wrap_type));
    line("dp_iterations", std::to_string(h.dp_iterations));
    line("dp_salt", to_hex(h.dp_salt));
  } else {
    line("double protection", "no");
  }
  line("hmac key", std::to_string(h.hmac_key_bytes) + " bytes (wrapped, not verified)");
  for (const std::string& tag : h.unknown_tags)
    line("unknown record", display_text(json_text(as_bytes(tag))));
  return out;
}

std::string classes_text(const InspectedKeybag& bag, bool show_secrets, bool colour) {
  std::string out = "Password: " + std::string(password_use_name(bag.password_use())) +
                    "; device key: " + (bag.used_device_key() ? "from --device" : "none") + "\n";
  Table table{{"class", "accessible", "wrap", "key type", "unlocked"}, {}};
  if (show_secrets) table.headers.push_back("key (hex)");
  bool unchecked = false;
  for (const ClassUnlock& c : bag.classes()) {
    unchecked |= c.device_layer_unchecked;
    table.rows.push_back({std::to_string(c.class_number),
                          c.accessible ? std::string(names_of(*c.accessible).name) : "-",
                          c.wrap_name, c.key_type_name,
                          c.key ? paint(c.device_layer_unchecked ? "yes*" : "yes", "32", colour)
                                : "no: " + c.locked_reason});
    if (show_secrets) table.rows.back().push_back(c.key ? to_hex(c.key->view()) : "");
  }
  out += table_text(table);
  if (unchecked) {
    // The device layer is AES-CBC without a check (formats.md): a wrong UID still yields a key.
    out +=
        "* through the device layer, which has no integrity check: with another device's "
        "key this is a wrong key, and only the items show it (does-not-open)\n";
  }
  return out;
}

Json dictionary_json(const DerDict& dict, bool show_secrets) {
  Json out = Json::object();
  for (const DerEntry& e : dict.entries()) {
    const bool hidden = e.key == attr::kValueData && !show_secrets;
    if (hidden && e.value.as_data()) {
      out[json_text(as_bytes(e.key))] = Json{{"data_bytes", e.value.as_data()->size()}};
    } else if (hidden) {
      out[json_text(as_bytes(e.key))] = "(hidden)";
    } else {
      out[json_text(as_bytes(e.key))] = der_value_json(e.value);
    }
  }
  return out;
}

std::string dictionary_text(const DerDict& dict, bool show_secrets) {
  Table table{{"attribute", "type", "value"}, {}};
  for (const DerEntry& e : dict.entries()) {
    std::string value = der_value_text(e.value);
    if (e.key == attr::kValueData && !show_secrets) {
      value = e.value.as_data()
                  ? std::to_string(e.value.as_data()->size()) + " bytes (hidden; --show-secrets)"
                  : "(hidden; --show-secrets)";
    }
    table.rows.push_back(
        {display_text(e.key), std::string(der_kind_name(e.value.kind())), std::move(value)});
  }
  return table_text(table);
}

Json blob_header_json(const BlobFacts& b) {
  return {{"version", b.version},
          {"keyclass_field", b.keyclass_field},
          {"key_class", b.key_class},
          {"accessible", b.accessible ? Json(names_of(*b.accessible).name) : Json(nullptr)},
          {"wrapped_key_bytes", b.wrapped_key_bytes},
          {"ciphertext_bytes", b.ciphertext_bytes},
          {"tag_bytes", b.tag_bytes},
          {"total_bytes", b.total_bytes}};
}

std::string blob_header_text(size_t bytes, const BlobFacts& b) {
  return "Item blob, " + std::to_string(bytes) + " bytes\n  version         " +
         std::to_string(b.version) + "\n  keyclass field  " + std::to_string(b.keyclass_field) +
         "\n  key class       " + key_class_text(b.key_class) + "\n  wrapped key     " +
         std::to_string(b.wrapped_key_bytes) + " bytes\n  ciphertext      " +
         std::to_string(b.ciphertext_bytes) + " bytes\n  tag             " +
         std::to_string(b.tag_bytes) + " bytes\n";
}

Json fates_json(const Item& item) {
  Json fates = Json::array();
  for (const oracle::Fate& f : oracle::fates(traits_of(item), {})) {
    Json fj = {{"journey", name_of(f.form.journey)}, {"target", name_of(f.form.target)}};
    fj.update(report::verdict_json(f.verdict));
    fates.push_back(fj);
  }
  return fates;
}

Json entry_json(const ArchiveEntry& e) {
  Json j = {{"class", name_of(e.item_class)},
            {"index", e.index},
            {"rowid", e.rowid ? Json(*e.rowid) : Json(nullptr)},
            {"blob_bytes", e.blob_bytes},
            {"key_class", e.key_class ? Json(*e.key_class) : Json(nullptr)},
            {"status", entry_status_name(e.status)}};
  if (!e.error.empty()) j["error"] = json_text(as_bytes(e.error));
  if (e.item) {
    j["item"] = item_json(*e.item, false);
    j["attributes"] = attributes_json(*e.item, false);
    j["fates"] = fates_json(*e.item);
  }
  return j;
}

std::string entries_text(const std::vector<ArchiveEntry>& entries) {
  if (entries.empty()) return "";
  Table table{{"class", "#", "row", "key class", "bytes", "status", "account", "service"}, {}};
  for (const ArchiveEntry& e : entries) {
    const std::string status(entry_status_name(e.status));
    table.rows.push_back(
        {std::string(name_of(e.item_class)), std::to_string(e.index),
         e.rowid ? std::to_string(*e.rowid) : "?", e.key_class ? key_class_text(*e.key_class) : "?",
         std::to_string(e.blob_bytes), e.error.empty() ? status : status + ": " + e.error,
         e.item ? display_text(e.item->account()) : "",
         e.item ? display_text(e.item->service()) : ""});
  }
  return table_text(table);
}

}  // namespace

std::string keybag_report(const std::string& file, const std::optional<Manifest>& manifest,
                          size_t bytes, const InspectedKeybag& bag, bool show_secrets,
                          Style style) {
  if (style.format == Format::kJson) return keybag_json(file, manifest, bag, show_secrets);
  return (manifest ? manifest_text(*manifest) : "") + "Keybag, " + std::to_string(bytes) +
         " bytes\n" + header_text(bag.header()) + classes_text(bag, show_secrets, style.colour);
}

std::string blob_report(const std::string& file, size_t bytes, const BlobFacts& blob,
                        const std::optional<DerDict>& attributes, bool show_secrets,
                        Format format) {
  if (format == Format::kJson) {
    Json doc = envelope("inspect.blob");
    doc["file"] = json_text(as_bytes(file));
    doc["header"] = blob_header_json(blob);
    if (attributes) {
      doc["attributes"] = dictionary_json(*attributes, show_secrets);
      doc["warnings"] = warnings_json(attribute_warnings(*attributes, blob.key_class));
    }
    return document(doc);
  }
  if (!attributes) return blob_header_text(bytes, blob) + "(give --class-key to open it)\n";
  return blob_header_text(bytes, blob) + dictionary_text(*attributes, show_secrets) +
         warnings_text(attribute_warnings(*attributes, blob.key_class));
}

std::string archive_report(const std::string& file, const KeychainArchive& archive,
                           const std::vector<ArchiveEntry>& entries, Format format) {
  if (format == Format::kJson) {
    Json doc = envelope("inspect.archive");
    doc["file"] = json_text(as_bytes(file));
    // R14: an older archive names no keybag (null, not an empty string).
    doc["keybag_uuid"] = archive.keybag_uuid.empty() ? Json() : Json(archive.keybag_uuid);
    doc["items"] = Json::array();
    for (const ArchiveEntry& e : entries)
      doc["items"].push_back(entry_json(e));
    doc["warnings"] = warnings_json(archive_warnings(archive));
    return document(doc);
  }
  return "Keychain archive, " + std::to_string(entries.size()) + " item(s), keybag " +
         (archive.keybag_uuid.empty() ? "not named (an older archive: R14)" : archive.keybag_uuid) +
         "\n" + entries_text(entries) + warnings_text(archive_warnings(archive));
}

}  // namespace kcb::render
