// `kcbackup inspect keybag|blob|archive|bundle`: what is inside the bytes, for people and tools.
// The facts come from the engine (kcbackup/inspection.h); this file reads the files through the
// Env, gathers the keys the user has, and prints, through item_format's safe text. Keys and
// secrets appear only with --show-secrets. For a bundle whose keys are available, each item's fate
// on every journey comes from the oracle (the CLI may ask it; the engine never does).
#include <algorithm>
#include <memory>
#include <optional>
#include <ostream>

#include "cli/commands.h"
#include "cli/folder_commands.h"
#include "cli/item_format.h"
#include "cli/verdict_format.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/device.h"
#include "kcbackup/inspection.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"

namespace kcb::cli {
namespace {

// A Manifest.plist carries a keybag and a little more; 16 MiB is generous for either.
inline constexpr size_t kMaxInspectFileBytes = size_t{16} << 20;
// A keychain archive holds every item of a phone; 256 MiB is far beyond any real one.
inline constexpr size_t kMaxArchiveFileBytes = size_t{256} << 20;
inline constexpr size_t kClassKeyHexDigits = 64;

// The password and device key the user gave, as the engine's unlock asks for them.
Result<KeybagKeySources> key_sources(const KeySources& given, Env& env,
                                     std::optional<bool> encrypted) {
  KeybagKeySources sources;
  sources.encrypted = encrypted;
  if (!given.device.empty()) {
    auto device = Device::open(env, given.device, {DeviceAccess::kReadOnly});
    if (!device.ok()) return device.status().with_context("--device");
    sources.device = std::move(device).value();
  }
  if (!given.key_file.empty()) {
    // The same file and checks as the folder commands' --key-file.
    KCB_ASSIGN_OR_RETURN(BackupKeys keys,
                         read_backup_keys({given.password, given.key_file}, env, ""));
    sources.password_key = std::move(keys.key);
  }
  sources.password = [&given, &env](bool may_ask) {
    return read_password(given.password, env, "Backup password",
                         may_ask ? Ask::kOnce : Ask::kNever);
  };
  return sources;
}

Status unlock(InspectedKeybag& bag, const KeySources& given, Env& env,
              std::optional<bool> encrypted) {
  KCB_ASSIGN_OR_RETURN(KeybagKeySources sources, key_sources(given, env, encrypted));
  return bag.unlock(sources);
}

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

// {"header", "password", "device_key", "classes"}: the keybag part of keybag and bundle JSON.
void add_keybag_json(Json& doc, const InspectedKeybag& bag, bool show_secrets) {
  doc["header"] = header_json(bag.header());
  doc["password"] = password_use_name(bag.password_use());
  doc["device_key"] = bag.used_device_key();
  doc["classes"] = classes_json(bag, show_secrets);
}

void print_header_text(std::ostream& out, const KeybagHeaderFacts& h) {
  auto line = [&out](std::string_view name, const std::string& value) {
    out << "  " << name << std::string(20 - name.size(), ' ') << value << "\n";
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
}

void print_classes_text(std::ostream& out, const InspectedKeybag& bag, bool show_secrets) {
  out << "Password: " << password_use_name(bag.password_use())
      << "; device key: " << (bag.used_device_key() ? "from --device" : "none") << "\n";
  Table table{{"class", "accessible", "wrap", "key type", "unlocked"}, {}};
  if (show_secrets) table.headers.push_back("key (hex)");
  bool unchecked = false;
  for (const ClassUnlock& c : bag.classes()) {
    unchecked |= c.device_layer_unchecked;
    table.rows.push_back({std::to_string(c.class_number),
                          c.accessible ? std::string(names_of(*c.accessible).name) : "-",
                          c.wrap_name, c.key_type_name,
                          c.key ? paint(c.device_layer_unchecked ? "yes*" : "yes", "32")
                                : "no: " + c.locked_reason});
    if (show_secrets) table.rows.back().push_back(c.key ? to_hex(c.key->view()) : "");
  }
  print_table(out, table, Format::kText);
  if (unchecked) {
    // The device layer is AES-CBC without a check (formats.md): a wrong UID still yields a key.
    out << "* through the device layer, which has no integrity check: with another device's "
           "key this is a wrong key, and only the items show it (does-not-open)\n";
  }
}

Json manifest_json(const Manifest& m) {
  return {{"encrypted", m.is_encrypted},
          {"unique_device_id", json_text(as_bytes(m.lockdown.unique_device_id))},
          {"journey", json_text(as_bytes(m.journey))}};
}

void print_manifest_text(std::ostream& out, const Manifest& m) {
  out << "Manifest: " << (m.is_encrypted ? "encrypted" : "not encrypted") << ", journey "
      << (m.journey.empty() ? "-" : display_text(m.journey)) << ", UniqueDeviceID "
      << display_text(m.lockdown.unique_device_id) << "\n";
}

}  // namespace

Status run_inspect_keybag(const InspectKeybagOptions& o, Env& env, std::ostream& out,
                          std::ostream&) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, env.read_file(o.file, kMaxInspectFileBytes));
  std::optional<Manifest> manifest;
  if (looks_like_property_list(bytes)) {
    KCB_ASSIGN_OR_RETURN(manifest, read_manifest(bytes));
    bytes = manifest->backup_keybag;
  }
  auto bag = InspectedKeybag::parse(bytes);
  if (!bag.ok())
    return bag.status().with_context(manifest ? "Manifest.plist: BackupKeyBag" : o.file);
  std::optional<bool> encrypted;
  if (manifest) encrypted = manifest->is_encrypted;
  KCB_RETURN_IF_ERROR(unlock(*bag, o.keys, env, encrypted));
  if (o.format == Format::kJson) {
    Json doc = json_envelope("inspect.keybag");
    doc["file"] = json_text(as_bytes(o.file));
    if (manifest) doc["manifest"] = manifest_json(*manifest);
    add_keybag_json(doc, *bag, o.show_secrets);
    print_json(out, doc);
    return Status::Ok();
  }
  if (manifest) print_manifest_text(out, *manifest);
  out << "Keybag, " << bytes.size() << " bytes\n";
  print_header_text(out, bag->header());
  print_classes_text(out, *bag, o.show_secrets);
  return Status::Ok();
}

namespace {

Result<SecretBytes> class_key_from_hex(const std::string& hex) {
  Bytes key;
  if (hex.size() != kClassKeyHexDigits || !from_hex(hex, &key)) {
    return Status::InvalidArgument("--class-key: expected " + std::to_string(kClassKeyHexDigits) +
                                   " hex digits (a 32-byte class key)");
  }
  SecretBytes secret(key);
  wipe(key);
  return secret;
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

void print_dictionary_text(std::ostream& out, const DerDict& dict, bool show_secrets) {
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
  print_table(out, table, Format::kText);
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

}  // namespace

InspectBlobOptions::~InspectBlobOptions() {
  wipe_password(class_key_hex);
}

Status run_inspect_blob(const InspectBlobOptions& o, Env& env, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, env.read_file(o.file, kMaxInspectedBlobBytes));
  auto blob = blob_facts(bytes);
  if (!blob.ok()) return blob.status().with_context(o.file);
  std::optional<DerDict> dict;
  if (!o.class_key_hex.empty()) {
    KCB_ASSIGN_OR_RETURN(SecretBytes class_key, class_key_from_hex(o.class_key_hex));
    auto opened = open_blob_attributes(bytes, class_key.view());
    if (!opened.ok()) return opened.status().with_context(o.file);
    dict = std::move(*opened);
  }
  if (o.format == Format::kJson) {
    Json doc = json_envelope("inspect.blob");
    doc["file"] = json_text(as_bytes(o.file));
    doc["header"] = blob_header_json(*blob);
    if (dict) {
      doc["attributes"] = dictionary_json(*dict, o.show_secrets);
      doc["warnings"] = warnings_json(attribute_warnings(*dict, blob->key_class));
    }
    print_json(out, doc);
    return Status::Ok();
  }
  out << "Item blob, " << bytes.size() << " bytes\n  version         " << blob->version
      << "\n  keyclass field  " << blob->keyclass_field << "\n  key class       "
      << key_class_text(blob->key_class) << "\n  wrapped key     " << blob->wrapped_key_bytes
      << " bytes\n  ciphertext      " << blob->ciphertext_bytes << " bytes\n  tag             "
      << blob->tag_bytes << " bytes\n";
  if (!dict) {
    out << "(give --class-key to open it)\n";
    return Status::Ok();
  }
  print_dictionary_text(out, *dict, o.show_secrets);
  print_warnings(out, attribute_warnings(*dict, blob->key_class));
  return Status::Ok();
}

namespace {

Json entry_json(const ArchiveEntry& e, bool show_secrets) {
  Json j = {{"class", name_of(e.item_class)},
            {"index", e.index},
            {"rowid", e.rowid ? Json(*e.rowid) : Json(nullptr)},
            {"blob_bytes", e.blob_bytes},
            {"key_class", e.key_class ? Json(*e.key_class) : Json(nullptr)},
            {"status", entry_status_name(e.status)}};
  if (!e.error.empty()) j["error"] = json_text(as_bytes(e.error));
  if (e.item) {
    j["item"] = item_json(*e.item, show_secrets);
    j["attributes"] = attributes_json(*e.item, show_secrets);
    Json fates = Json::array();
    for (const oracle::Fate& f : oracle::fates(traits_of(*e.item), {})) {
      Json fj = {{"journey", name_of(f.form.journey)}, {"target", name_of(f.form.target)}};
      fj.update(verdict_json(f.verdict));
      fates.push_back(fj);
    }
    j["fates"] = fates;
  }
  return j;
}

Json entries_json(const std::vector<ArchiveEntry>& entries, bool show_secrets) {
  Json items = Json::array();
  for (const ArchiveEntry& e : entries)
    items.push_back(entry_json(e, show_secrets));
  return items;
}

void print_entries_text(std::ostream& out, const std::vector<ArchiveEntry>& entries,
                        bool show_secrets) {
  if (entries.empty()) return;
  Table table{{"class", "#", "row", "key class", "bytes", "status", "account", "service"}, {}};
  if (show_secrets) table.headers.push_back("secret (hex)");
  for (const ArchiveEntry& e : entries) {
    const std::string status(entry_status_name(e.status));
    table.rows.push_back(
        {std::string(name_of(e.item_class)), std::to_string(e.index),
         e.rowid ? std::to_string(*e.rowid) : "?", e.key_class ? key_class_text(*e.key_class) : "?",
         std::to_string(e.blob_bytes), e.error.empty() ? status : status + ": " + e.error,
         e.item ? display_text(e.item->account()) : "",
         e.item ? display_text(e.item->service()) : ""});
    if (show_secrets) table.rows.back().push_back(e.item ? to_hex(e.item->secret().view()) : "");
  }
  print_table(out, table, Format::kText);
}

}  // namespace

Status run_inspect_archive(const InspectArchiveOptions& o, Env& env, std::ostream& out,
                           std::ostream&) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, env.read_file(o.file, kMaxArchiveFileBytes));
  auto archive = read_keychain_archive(bytes);
  if (!archive.ok()) return archive.status().with_context(o.file);
  const std::vector<ArchiveEntry> entries = archive_entries(*archive, nullptr);
  if (o.format == Format::kJson) {
    Json doc = json_envelope("inspect.archive");
    doc["file"] = json_text(as_bytes(o.file));
    // R14: an older archive names no keybag (null, not an empty string).
    doc["keybag_uuid"] = archive->keybag_uuid.empty() ? Json() : Json(archive->keybag_uuid);
    doc["items"] = entries_json(entries, false);
    doc["warnings"] = warnings_json(archive_warnings(*archive));
    print_json(out, doc);
    return Status::Ok();
  }
  out << "Keychain archive, " << entries.size() << " item(s), keybag "
      << (archive->keybag_uuid.empty() ? "not named (an older archive: R14)" : archive->keybag_uuid)
      << "\n";
  print_entries_text(out, entries, false);
  print_warnings(out, archive_warnings(*archive));
  return Status::Ok();
}

namespace {

void add_key_sources(CLI::App* cmd, KeySources* keys) {
  add_password_options(cmd, &keys->password);
  cmd->add_option("--key-file", keys->key_file,
                  "The derived backup key `kcbackup unlock --key-out` wrote, instead of the "
                  "password (the KDF does not run)");
  cmd->add_option("--device", keys->device,
                  "A device directory whose key 0x835 opens the device layer (WRAP & 1)");
}

}  // namespace

void add_inspect_command(CLI::App& app, Status& status) {
  CLI::App& inspect = add_group(app, "inspect");
  add_command(
      inspect, status, "keybag", run_inspect_keybag, [](CLI::App* cmd, InspectKeybagOptions& o) {
        cmd->add_option("FILE", o.file, "A keybag or a Manifest.plist holding BackupKeyBag")
            ->required();
        add_key_sources(cmd, &o.keys);
        cmd->add_flag("--show-secrets", o.show_secrets, "Print the unlocked class keys in hex");
        add_format_option(cmd, &o.format, false);
      });
  add_command(inspect, status, "blob", run_inspect_blob, [](CLI::App* cmd, InspectBlobOptions& o) {
    cmd->add_option("FILE", o.file, "The blob (v_Data of a backup item)")->required();
    cmd->add_option("--class-key", o.class_key_hex,
                    "The 32-byte class key in hex (from `inspect keybag "
                    "--show-secrets`)");
    cmd->add_flag("--show-secrets", o.show_secrets, "Print the secret (v_Data) in hex");
    add_format_option(cmd, &o.format, false);
  });
  add_command(inspect, status, "archive", run_inspect_archive,
              [](CLI::App* cmd, InspectArchiveOptions& o) {
                cmd->add_option("FILE", o.file, "A keychain-backup.plist")->required();
                add_format_option(cmd, &o.format, false);
              });
  add_inspect_backup_command(inspect, status);  // cli/folder_commands.cc (issue 13)
}

}  // namespace kcb::cli
