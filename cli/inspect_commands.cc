// `kcbackup inspect keybag|blob|archive|bundle`: what is inside the bytes, for people and tools.
// Every input may be hostile: the engine's parsers and caps decide (a bag asking for 2^31 PBKDF2
// rounds is refused before any derivation), and everything printed goes through item_format's
// safe text. Keys and secrets appear only with --show-secrets. For a bundle whose keys are
// available, each item's fate on every journey comes from the oracle (the CLI may ask it; the
// engine never does).
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/item_format.h"
#include "cli/output.h"
#include "cli/password.h"
#include "cli/verdict_format.h"
#include "engine/blob.h"
#include "engine/keybag.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/device.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"

namespace kcb::cli {
namespace {

// A Manifest.plist carries a keybag and a little more; 16 MiB is generous for either.
inline constexpr size_t kMaxInspectFileBytes = size_t{16} << 20;
// A keychain archive holds every item of a phone; 256 MiB is far beyond any real one.
inline constexpr size_t kMaxArchiveFileBytes = size_t{256} << 20;
// A bag whose whole KDF is this cheap is tried with the empty password when none is given: that
// is how the bag of an unencrypted backup is written.
inline constexpr uint64_t kCheapKdfRounds = 1000;

// ---- Unlocking a bag with what the user has. ----

struct KeySources {
  PasswordOptions password;
  std::string device;  // --device DIR: the device key 0x835 for WRAP & 1
};

enum class PasswordState { kNotNeeded, kGiven, kEmpty, kNone };

std::string_view password_state_name(PasswordState s) {
  switch (s) {
    case PasswordState::kNotNeeded:
      return "not-needed";
    case PasswordState::kGiven:
      return "given";
    case PasswordState::kEmpty:
      return "empty";
    case PasswordState::kNone:
      return "none";
  }
  return "?";
}

struct BagKeys {
  UnlockedKeybag keys;
  PasswordState password = PasswordState::kNone;
  bool device_key = false;
};

bool needs_password(const Keybag& bag) {
  return std::any_of(bag.classes.begin(), bag.classes.end(),
                     [](const KeybagClass& c) { return (c.wrap & kWrapPassword) != 0; });
}

bool has_cheap_kdf(const Keybag& bag) {
  return uint64_t{bag.iterations} + (bag.double_protection ? bag.dp_iterations : 0) <=
         kCheapKdfRounds;
}

// The device whose layer (WRAP & 1) --device names; nullptr without one. Its key stays inside it.
Result<std::unique_ptr<Device>> device_from(const std::string& dir) {
  if (dir.empty()) return std::unique_ptr<Device>();
  auto device = Device::open(default_env(), dir);
  if (!device.ok()) return device.status().with_context("--device");
  return device;
}

// The classes that need no password, unlocked with the device key if there is one.
Result<UnlockedKeybag> unlock_without_password(const Keybag& bag, const Device* device) {
  Keybag device_only = bag;
  std::erase_if(device_only.classes,
                [](const KeybagClass& c) { return (c.wrap & kWrapPassword) != 0; });
  return unlock_keybag_with_password_key_for(device_only, {}, device);
}

// `encrypted`: what a Manifest.plist says (nullopt for a raw bag). An explicit wrong password is
// PermissionDenied; no password leaves the password classes locked.
Result<BagKeys> unlock_with_sources(const Keybag& bag, std::optional<bool> encrypted,
                                    KeySources& sources) {
  BagKeys out;
  KCB_ASSIGN_OR_RETURN(std::unique_ptr<Device> device, device_from(sources.device));
  out.device_key = device != nullptr;
  if (!needs_password(bag)) {
    out.password = PasswordState::kNotNeeded;
    KCB_ASSIGN_OR_RETURN(out.keys, unlock_keybag_for(bag, {}, device.get()));
    return out;
  }
  std::optional<SecretBytes> password;
  if (encrypted == false) {
    password = SecretBytes();  // an unencrypted backup's bag uses the empty password
    wipe_password(sources.password.value);
  } else {
    KCB_ASSIGN_OR_RETURN(password, read_password(sources.password, "Backup password", Ask::kNever));
    if (!password && !encrypted && has_cheap_kdf(bag)) {
      auto keys = unlock_keybag_for(bag, {}, device.get());
      if (keys.ok()) return BagKeys{std::move(*keys), PasswordState::kEmpty, out.device_key};
    }
    if (!password) {
      KCB_ASSIGN_OR_RETURN(password, read_password(sources.password, "Backup password"));
    }
  }
  if (!password) {
    KCB_ASSIGN_OR_RETURN(out.keys, unlock_without_password(bag, device.get()));
    return out;
  }
  out.password = password->empty() ? PasswordState::kEmpty : PasswordState::kGiven;
  KCB_ASSIGN_OR_RETURN(SecretBytes password_key, derive_password_key(bag, password->view()));
  KCB_ASSIGN_OR_RETURN(out.keys,
                       unlock_keybag_with_password_key_for(bag, password_key.view(), device.get()));
  return out;
}

// ---- Keybag text. ----

std::string key_type_name(uint32_t key_type) {
  switch (key_type) {
    case 0:
      return "AES";
    case 1:
      return "Curve25519";
    default:
      return std::to_string(key_type);
  }
}

// Why a class did not unlock; "" when it did.
std::string locked_reason(const KeybagClass& c, const BagKeys& keys) {
  if (keys.keys.is_unlocked(c.class_number)) return "";
  if ((c.wrap & kWrapPassword) && keys.password == PasswordState::kNone)
    return "needs the password";
  if ((c.wrap & kWrapDevice) && !keys.device_key) return "needs --device";
  return "not unlocked";
}

Json header_json(const Keybag& bag) {
  Json unknown = Json::array();
  static constexpr std::string_view kKnown[] = {"VERS", "TYPE", "UUID", "HMCK", "WRAP",
                                                "SALT", "ITER", "DPWT", "DPIC", "DPSL"};
  for (const KeybagRecord& r : bag.header_records) {
    if (std::find(std::begin(kKnown), std::end(kKnown), r.tag) == std::end(kKnown)) {
      unknown.push_back(json_text(as_bytes(r.tag)));
    }
  }
  Json h = {{"version", bag.version},
            {"type", bag.type()},
            {"type_name", keybag_type_name(bag.type())},
            {"type_field", bag.type_field},
            {"uuid", bag.uuid.size() == 16 ? uuid_text(bag.uuid) : to_hex(bag.uuid)},
            {"wrap", bag.wrap},
            {"salt_hex", to_hex(bag.salt)},
            {"iterations", bag.iterations},
            {"double_protection", bag.double_protection}};
  if (bag.double_protection) {
    h["dp_wrap_type"] = bag.dp_wrap_type;
    h["dp_iterations"] = bag.dp_iterations;
    h["dp_salt_hex"] = to_hex(bag.dp_salt);
  }
  h["hmac_key_bytes"] = bag.hmac_key.size();
  h["unknown_tags"] = unknown;
  return h;
}

Json classes_json(const Keybag& bag, const BagKeys& keys, bool show_secrets) {
  Json list = Json::array();
  for (const KeybagClass& c : bag.classes) {
    const auto a = accessibility_from_key_class(c.class_number);
    const SecretBytes* key = keys.keys.key_for(c.class_number);
    Json j = {{"class", c.class_number},
              {"accessible", a ? Json(names_of(*a).name) : Json(nullptr)},
              {"wrap", c.wrap},
              {"key_type", c.key_type},
              {"unlocked", key != nullptr}};
    if (key == nullptr) j["locked_reason"] = locked_reason(c, keys);
    if (key != nullptr && (c.wrap & kWrapDevice)) j["device_layer_checked"] = false;
    if (show_secrets && key != nullptr) j["key_hex"] = to_hex(key->view());
    list.push_back(j);
  }
  return list;
}

void print_header_text(const Keybag& bag) {
  const Json h = header_json(bag);
  auto line = [](std::string_view name, const std::string& value) {
    std::cout << "  " << name << std::string(20 - name.size(), ' ') << value << "\n";
  };
  line("version", std::to_string(bag.version));
  line("type",
       std::to_string(bag.type()) + " " + std::string(keybag_type_name(bag.type())) +
           (bag.type_field != bag.type() ? " (field " + std::to_string(bag.type_field) + ")" : ""));
  line("uuid", h["uuid"].get<std::string>());
  line("wrap", std::to_string(bag.wrap));
  line("salt", to_hex(bag.salt));
  line("iterations", std::to_string(bag.iterations));
  if (bag.double_protection) {
    line("dp_wrap_type", std::to_string(bag.dp_wrap_type));
    line("dp_iterations", std::to_string(bag.dp_iterations));
    line("dp_salt", to_hex(bag.dp_salt));
  } else {
    line("double protection", "no");
  }
  line("hmac key", std::to_string(bag.hmac_key.size()) + " bytes (wrapped, not verified)");
  for (const auto& tag : h["unknown_tags"])
    line("unknown record", display_text(tag.get<std::string>()));
}

void print_classes_text(const Keybag& bag, const BagKeys& keys, bool show_secrets) {
  Table table{{"class", "accessible", "wrap", "key type", "unlocked"}, {}};
  if (show_secrets) table.headers.push_back("key (hex)");
  bool unchecked = false;
  for (const KeybagClass& c : bag.classes) {
    const auto a = accessibility_from_key_class(c.class_number);
    const SecretBytes* key = keys.keys.key_for(c.class_number);
    const bool through_device = key != nullptr && (c.wrap & kWrapDevice);
    unchecked |= through_device;
    table.rows.push_back(
        {std::to_string(c.class_number), a ? std::string(names_of(*a).name) : "-",
         keybag_wrap_name(c.wrap), key_type_name(c.key_type),
         key ? paint(through_device ? "yes*" : "yes", "32") : "no: " + locked_reason(c, keys)});
    if (show_secrets) table.rows.back().push_back(key ? to_hex(key->view()) : "");
  }
  print_table(std::cout, table, Format::kText);
  if (unchecked) {
    // The device layer is AES-CBC without a check (formats.md): a wrong UID still yields a key.
    std::cout << "* through the device layer, which has no integrity check: with another device's "
                 "key this is a wrong key, and only the items show it (does-not-open)\n";
  }
}

// ---- inspect keybag ----

struct KeybagOptions {
  std::string file;
  KeySources keys;
  bool show_secrets = false;
  Format format = Format::kText;
};

bool looks_like_plist(ByteView bytes) {
  auto starts = [&](std::string_view prefix) {
    return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
  };
  return starts("bplist") || starts("<?xml") || starts("<plist") || starts("\xEF\xBB\xBF<?xml");
}

Json manifest_json(const Manifest& m) {
  return {{"encrypted", m.is_encrypted},
          {"unique_device_id", json_text(as_bytes(m.unique_device_id))},
          {"journey", json_text(as_bytes(m.journey))}};
}

void print_manifest_text(const Manifest& m) {
  std::cout << "Manifest: " << (m.is_encrypted ? "encrypted" : "not encrypted") << ", journey "
            << (m.journey.empty() ? "-" : display_text(m.journey)) << ", UniqueDeviceID "
            << display_text(m.unique_device_id) << "\n";
}

void print_key_sources_text(const BagKeys& keys) {
  std::cout << "Password: " << password_state_name(keys.password)
            << "; device key: " << (keys.device_key ? "from --device" : "none") << "\n";
}

Status run_inspect_keybag(KeybagOptions& o) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, default_env().read_file(o.file, kMaxInspectFileBytes));
  std::optional<Manifest> manifest;
  if (looks_like_plist(bytes)) {
    KCB_ASSIGN_OR_RETURN(manifest, read_manifest(bytes));
    bytes = manifest->backup_keybag;
  }
  auto parsed = parse_keybag(bytes);
  if (!parsed.ok()) {
    return parsed.status().with_context(manifest ? "Manifest.plist: BackupKeyBag" : o.file);
  }
  const Keybag& bag = *parsed;
  std::optional<bool> encrypted;
  if (manifest) encrypted = manifest->is_encrypted;
  KCB_ASSIGN_OR_RETURN(BagKeys keys, unlock_with_sources(bag, encrypted, o.keys));
  if (o.format == Format::kJson) {
    Json doc = json_envelope("inspect.keybag");
    doc["file"] = json_text(as_bytes(o.file));
    if (manifest) doc["manifest"] = manifest_json(*manifest);
    doc["header"] = header_json(bag);
    doc["password"] = password_state_name(keys.password);
    doc["device_key"] = keys.device_key;
    doc["classes"] = classes_json(bag, keys, o.show_secrets);
    print_json(std::cout, doc);
    return Status::Ok();
  }
  if (manifest) print_manifest_text(*manifest);
  std::cout << "Keybag, " << bytes.size() << " bytes\n";
  print_header_text(bag);
  print_key_sources_text(keys);
  print_classes_text(bag, keys, o.show_secrets);
  return Status::Ok();
}

// ---- inspect blob ----

struct BlobOptions {
  std::string file;
  std::string class_key_hex;
  bool show_secrets = false;
  Format format = Format::kText;
};

Json blob_header_json(const ParsedBlob& b, size_t total) {
  const auto a = accessibility_from_key_class(b.key_class);
  return {{"version", kBlobVersion},
          {"keyclass_field", b.keyclass_field},
          {"key_class", b.key_class},
          {"accessible", a ? Json(names_of(*a).name) : Json(nullptr)},
          {"wrapped_key_bytes", b.wrapped_key.size()},
          {"ciphertext_bytes", b.ciphertext.size()},
          {"tag_bytes", b.tag.size()},
          {"total_bytes", total}};
}

Result<SecretBytes> class_key_from_hex(std::string& hex) {
  Bytes key;
  const bool ok = hex.size() == 2 * kClassKeySize && from_hex(hex, &key);
  wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(hex.data()), hex.size()));
  if (!ok) {
    return Status::InvalidArgument("--class-key: expected " + std::to_string(2 * kClassKeySize) +
                                   " hex digits (a 32-byte class key)");
  }
  SecretBytes secret(key);
  wipe(key);
  return secret;
}

// Problems a reader of this dictionary would have: wrong types of known attributes, a pdmn that
// does not match the blob's key class.
std::vector<std::string> dictionary_warnings(const DerDict& dict, uint32_t key_class) {
  std::vector<std::string> out;
  for (const DerEntry& e : dict.entries()) {
    if (e.key == attr::kValueData) continue;
    const Status st = check_item_attribute(e.key, e.value);
    if (!st.ok()) out.push_back(st.message());
  }
  if (const DerValue* pdmn = dict.find(attr::kAccessible); pdmn && pdmn->as_string()) {
    const auto a = accessibility_from_pdmn(*pdmn->as_string());
    if (a && names_of(*a).key_class != key_class) {
      out.push_back("pdmn '" + std::string(names_of(*a).pdmn) + "' does not match key class " +
                    std::to_string(key_class));
    }
  }
  if (!dict.contains(attr::kValueData)) out.push_back("no v_Data");
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

void print_dictionary_text(const DerDict& dict, bool show_secrets) {
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
  print_table(std::cout, table, Format::kText);
}

Status run_inspect_blob(BlobOptions& o) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, default_env().read_file(o.file, kMaxBlobSize));
  auto parsed = parse_blob(bytes);
  if (!parsed.ok()) return parsed.status().with_context(o.file);
  std::optional<DerDict> dict;
  if (!o.class_key_hex.empty()) {
    KCB_ASSIGN_OR_RETURN(SecretBytes class_key, class_key_from_hex(o.class_key_hex));
    auto plaintext = open_blob(*parsed, class_key.view());
    if (!plaintext.ok()) {
      const bool wrong_key = plaintext.status().code() == Code::kDataLoss;
      return plaintext.status().with_context(
          o.file + (wrong_key ? ": the class key does not open this blob"
                              : ": the class key opens the item key, but the item is altered"));
    }
    auto decoded = decode_der_dictionary(plaintext->view());
    if (!decoded.ok()) return decoded.status().with_context(o.file + ": attribute dictionary");
    dict = std::move(*decoded);
  }
  if (o.format == Format::kJson) {
    Json doc = json_envelope("inspect.blob");
    doc["file"] = json_text(as_bytes(o.file));
    doc["header"] = blob_header_json(*parsed, bytes.size());
    if (dict) {
      doc["attributes"] = dictionary_json(*dict, o.show_secrets);
      Json warnings = Json::array();
      for (const auto& w : dictionary_warnings(*dict, parsed->key_class))
        warnings.push_back(json_text(as_bytes(w)));
      doc["warnings"] = warnings;
    }
    print_json(std::cout, doc);
    return Status::Ok();
  }
  std::cout << "Item blob, " << bytes.size() << " bytes\n  version         " << kBlobVersion
            << "\n  keyclass field  " << parsed->keyclass_field << "\n  key class       "
            << key_class_text(parsed->key_class) << "\n  wrapped key     "
            << parsed->wrapped_key.size() << " bytes\n  ciphertext      "
            << parsed->ciphertext.size() << " bytes\n  tag             " << parsed->tag.size()
            << " bytes\n";
  if (!dict) {
    std::cout << "(give --class-key to open it)\n";
    return Status::Ok();
  }
  print_dictionary_text(*dict, o.show_secrets);
  for (const auto& w : dictionary_warnings(*dict, parsed->key_class))
    std::cout << "warning: " << display_text(w) << "\n";
  return Status::Ok();
}

// ---- inspect archive and bundle ----

// One archived item as far as its bytes and the available keys go.
struct ArchiveEntry {
  ItemClass item_class = ItemClass::kGenp;
  size_t index = 0;
  std::optional<int64_t> rowid;
  size_t blob_bytes = 0;
  std::optional<uint32_t> key_class;
  std::string status;  // "sealed", "malformed", "locked", "does-not-open", "decoded"
  std::string error;
  std::optional<Item> item;
};

// The archive reader's warnings, and one per item whose v_PersistentRef does not decode (the
// restore ignores refs; a bad one says the archive was not written by a keychain).
std::vector<std::string> archive_warnings(const KeychainArchive& archive) {
  std::vector<std::string> warnings = archive.warnings;
  for (ItemClass c : kAllItemClasses) {
    const auto& items = archive.items[static_cast<size_t>(c)];
    for (size_t i = 0; i < items.size(); ++i) {
      auto rowid = rowid_of_persistent_ref(items[i].persistent_ref, c);
      if (!rowid.ok()) {
        warnings.push_back(std::string(name_of(c)) + "[" + std::to_string(i) +
                           "]: " + rowid.status().message());
      }
    }
  }
  return warnings;
}

ArchiveEntry entry_of(ItemClass c, size_t index, const ArchivedItem& a, const BagKeys* keys) {
  ArchiveEntry e;
  e.item_class = c;
  e.index = index;
  if (auto rowid = rowid_of_persistent_ref(a.persistent_ref, c); rowid.ok()) e.rowid = *rowid;
  e.blob_bytes = a.blob.size();
  auto parsed = parse_blob(a.blob);
  if (!parsed.ok()) {
    e.status = "malformed";
    e.error = parsed.status().message();
    return e;
  }
  e.key_class = parsed->key_class;
  e.status = "sealed";
  if (keys == nullptr) return e;
  const SecretBytes* class_key = keys->keys.key_for(parsed->key_class);
  if (class_key == nullptr) {
    e.status = "locked";
    return e;
  }
  auto plaintext = open_blob(*parsed, class_key->view());
  if (!plaintext.ok()) {
    // The item key unwrapped, so the key is right and the bytes were altered.
    e.status = plaintext.status().code() == Code::kDataLoss ? "does-not-open" : "malformed";
    e.error = plaintext.status().message();
    return e;
  }
  auto item = Item::decode(c, plaintext->view());
  if (!item.ok()) {
    e.status = "malformed";
    e.error = item.status().message();
    return e;
  }
  e.status = "decoded";
  e.item = std::move(*item);
  return e;
}

std::vector<ArchiveEntry> entries_of(const KeychainArchive& archive, const BagKeys* keys) {
  std::vector<ArchiveEntry> out;
  for (ItemClass c : kAllItemClasses) {
    const auto& items = archive.items[static_cast<size_t>(c)];
    for (size_t i = 0; i < items.size(); ++i)
      out.push_back(entry_of(c, i, items[i], keys));
  }
  return out;
}

struct Fate {
  Journey journey;
  Target target;
  Verdict verdict;
};

std::vector<Fate> fates_of(const Item& item) {
  std::vector<Fate> out;
  for (Journey j : kAllJourneys) {
    for (Target t : kAllTargets) {
      auto v = oracle::predict({traits_of(item), j, t, {}});
      if (v.ok()) out.push_back({j, t, *v});  // some journeys have no same-device form
    }
  }
  return out;
}

Json entry_json(const ArchiveEntry& e, bool show_secrets) {
  Json j = {{"class", name_of(e.item_class)},
            {"index", e.index},
            {"rowid", e.rowid ? Json(*e.rowid) : Json(nullptr)},
            {"blob_bytes", e.blob_bytes},
            {"key_class", e.key_class ? Json(*e.key_class) : Json(nullptr)},
            {"status", e.status}};
  if (!e.error.empty()) j["error"] = json_text(as_bytes(e.error));
  if (e.item) {
    j["item"] = item_json(*e.item, show_secrets);
    j["attributes"] = attributes_json(*e.item, show_secrets);
    Json fates = Json::array();
    for (const Fate& f : fates_of(*e.item)) {
      Json fj = {{"journey", name_of(f.journey)}, {"target", name_of(f.target)}};
      fj.update(verdict_json(f.verdict));
      fates.push_back(fj);
    }
    j["fates"] = fates;
  }
  return j;
}

void print_entries_text(const std::vector<ArchiveEntry>& entries, bool show_secrets) {
  Table table{{"class", "#", "row", "key class", "bytes", "status", "account", "service"}, {}};
  if (show_secrets) table.headers.push_back("secret (hex)");
  for (const ArchiveEntry& e : entries) {
    table.rows.push_back(
        {std::string(name_of(e.item_class)), std::to_string(e.index),
         e.rowid ? std::to_string(*e.rowid) : "?", e.key_class ? key_class_text(*e.key_class) : "?",
         std::to_string(e.blob_bytes), e.error.empty() ? e.status : e.status + ": " + e.error,
         e.item ? display_text(e.item->account()) : "",
         e.item ? display_text(e.item->service()) : ""});
    if (show_secrets) {
      table.rows.back().push_back(e.item ? to_hex(e.item->secret().view()) : "");
    }
  }
  print_table(std::cout, table, Format::kText);
}

// One row per decoded item, one column per journey and target: what the oracle says.
void print_fates_text(const std::vector<ArchiveEntry>& entries) {
  Table table{{"class", "#", "accessible"}, {}};
  bool headers_done = false;
  for (const ArchiveEntry& e : entries) {
    if (!e.item) continue;
    const std::vector<Fate> fates = fates_of(*e.item);
    if (!headers_done) {
      for (const Fate& f : fates) {
        table.headers.push_back(std::string(name_of(f.journey)) + "/" +
                                (f.target == Target::kSameDevice ? "same" : "other"));
      }
      headers_done = true;
    }
    std::vector<std::string> row{std::string(name_of(e.item_class)), std::to_string(e.index),
                                 std::string(names_of(e.item->accessibility()).name)};
    for (const Fate& f : fates)
      row.push_back(std::string(name_of(f.verdict.outcome)));
    table.rows.push_back(std::move(row));
  }
  if (table.rows.empty()) return;
  std::cout
      << "\nWhat each item would do, according to the oracle (iCloud Keychain assumed off):\n";
  print_table(std::cout, table, Format::kText);
}

struct ArchiveOptions {
  std::string file;
  Format format = Format::kText;
};

Status run_inspect_archive(const ArchiveOptions& o) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, default_env().read_file(o.file, kMaxArchiveFileBytes));
  auto archive = read_keychain_archive(bytes);
  if (!archive.ok()) return archive.status().with_context(o.file);
  const std::vector<ArchiveEntry> entries = entries_of(*archive, nullptr);
  if (o.format == Format::kJson) {
    Json doc = json_envelope("inspect.archive");
    doc["file"] = json_text(as_bytes(o.file));
    doc["keybag_uuid"] = archive->keybag_uuid;
    Json items = Json::array();
    for (const ArchiveEntry& e : entries)
      items.push_back(entry_json(e, false));
    doc["items"] = items;
    Json warnings = Json::array();
    for (const auto& w : archive_warnings(*archive))
      warnings.push_back(json_text(as_bytes(w)));
    doc["warnings"] = warnings;
    print_json(std::cout, doc);
    return Status::Ok();
  }
  std::cout << "Keychain archive, " << entries.size() << " item(s), keybag " << archive->keybag_uuid
            << "\n";
  if (!entries.empty()) print_entries_text(entries, false);
  for (const auto& w : archive_warnings(*archive))
    std::cout << "warning: " << display_text(w) << "\n";
  return Status::Ok();
}

struct BundleOptions {
  std::string dir;
  KeySources keys;
  bool show_secrets = false;
  Format format = Format::kText;
};

Status run_inspect_bundle(BundleOptions& o) {
  KCB_ASSIGN_OR_RETURN(Bundle bundle, read_bundle(default_env(), o.dir));
  auto bag = parse_keybag(bundle.manifest.backup_keybag);
  if (!bag.ok()) return bag.status().with_context("Manifest.plist: BackupKeyBag");
  KCB_ASSIGN_OR_RETURN(BagKeys keys,
                       unlock_with_sources(*bag, bundle.manifest.is_encrypted, o.keys));
  const std::vector<ArchiveEntry> entries = entries_of(bundle.archive, &keys);
  if (o.format == Format::kJson) {
    Json doc = json_envelope("inspect.bundle");
    doc["bundle"] = json_text(as_bytes(o.dir));
    doc["manifest"] = manifest_json(bundle.manifest);
    doc["keybag"] = {{"header", header_json(*bag)},
                     {"password", password_state_name(keys.password)},
                     {"device_key", keys.device_key},
                     {"classes", classes_json(*bag, keys, o.show_secrets)}};
    doc["keybag_uuid_matches"] =
        bag->uuid.size() == 16 && uuid_text(bag->uuid) == bundle.archive.keybag_uuid;
    Json items = Json::array();
    for (const ArchiveEntry& e : entries)
      items.push_back(entry_json(e, o.show_secrets));
    doc["items"] = items;
    Json warnings = Json::array();
    for (const auto& w : archive_warnings(bundle.archive))
      warnings.push_back(json_text(as_bytes(w)));
    doc["warnings"] = warnings;
    print_json(std::cout, doc);
    return Status::Ok();
  }
  print_manifest_text(bundle.manifest);
  print_key_sources_text(keys);
  print_classes_text(*bag, keys, o.show_secrets);
  std::cout << "\n" << entries.size() << " item(s)\n";
  if (!entries.empty()) print_entries_text(entries, o.show_secrets);
  print_fates_text(entries);
  for (const auto& w : archive_warnings(bundle.archive))
    std::cout << "warning: " << display_text(w) << "\n";
  return Status::Ok();
}

void add_key_sources(CLI::App* cmd, KeySources* keys) {
  add_password_options(cmd, &keys->password);
  cmd->add_option("--device", keys->device,
                  "A device directory whose key 0x835 opens the device layer (WRAP & 1)");
}

template <typename Options, typename Run>
void set_callback(CLI::App* cmd, std::shared_ptr<Options> o, Run run, int& exit_code) {
  cmd->callback([o, run, &exit_code] {
    const Status st = run(*o);
    exit_code = st.ok() ? kExitOk : report_error(st);
  });
}

void add_inspect_keybag(CLI::App* inspect, int& exit_code) {
  auto o = std::make_shared<KeybagOptions>();
  CLI::App* cmd = inspect->add_subcommand(
      "keybag", "A keybag's header and class keys (FILE: a raw keybag or a Manifest.plist)");
  cmd->add_option("FILE", o->file, "A keybag or a Manifest.plist holding BackupKeyBag")->required();
  add_key_sources(cmd, &o->keys);
  cmd->add_flag("--show-secrets", o->show_secrets, "Print the unlocked class keys in hex");
  add_format_option(cmd, &o->format, false);
  cmd->footer(
      "A wrong password exits 3; a malformed or hostile bag exits 2 before any key derivation.\n\n"
      "Example:\n  kcbackup inspect keybag phone.backup/Manifest.plist --password-file pw.txt\n"
      "  class  accessible                      wrap             key type  unlocked\n"
      "  6      WhenUnlocked                    password         AES       yes\n"
      "  9      WhenUnlockedThisDeviceOnly      device+password  AES       no: needs --device");
  set_callback(cmd, o, run_inspect_keybag, exit_code);
}

void add_inspect_blob(CLI::App* inspect, int& exit_code) {
  auto o = std::make_shared<BlobOptions>();
  CLI::App* cmd = inspect->add_subcommand("blob", "A v3 item blob's header and attributes");
  cmd->add_option("FILE", o->file, "The blob (v_Data of a backup item)")->required();
  cmd->add_option("--class-key", o->class_key_hex,
                  "The 32-byte class key in hex (from `inspect keybag --show-secrets`)");
  cmd->add_flag("--show-secrets", o->show_secrets, "Print the secret (v_Data) in hex");
  add_format_option(cmd, &o->format, false);
  cmd->footer("Example:\n  kcbackup inspect blob item.bin --class-key 3f1c...e0 --format json");
  set_callback(cmd, o, run_inspect_blob, exit_code);
}

void add_inspect_archive(CLI::App* inspect, int& exit_code) {
  auto o = std::make_shared<ArchiveOptions>();
  CLI::App* cmd = inspect->add_subcommand(
      "archive", "The items of a keychain-backup.plist: class, key class, sizes");
  cmd->add_option("FILE", o->file, "A keychain-backup.plist")->required();
  add_format_option(cmd, &o->format, false);
  cmd->footer(
      "Example:\n  kcbackup inspect archive phone.backup/KeychainDomain/keychain-backup.plist");
  set_callback(cmd, o, run_inspect_archive, exit_code);
}

void add_inspect_bundle(CLI::App* inspect, int& exit_code) {
  auto o = std::make_shared<BundleOptions>();
  CLI::App* cmd = inspect->add_subcommand(
      "bundle", "A backup bundle: keybag, items and, with keys, each item's fate per the oracle");
  cmd->add_option("DIR", o->dir, "The bundle directory")->required();
  add_key_sources(cmd, &o->keys);
  cmd->add_flag("--show-secrets", o->show_secrets, "Print class keys and secrets in hex");
  add_format_option(cmd, &o->format, false);
  cmd->footer(
      "Example:\n  kcbackup inspect bundle phone.backup --password-file pw.txt --device phone");
  set_callback(cmd, o, run_inspect_bundle, exit_code);
}

}  // namespace

void add_inspect_command(CLI::App& app, int& exit_code) {
  CLI::App* inspect = app.add_subcommand(
      "inspect", "What is inside a keybag, an item blob, a keychain archive or a backup bundle");
  inspect->require_subcommand(1);
  inspect->footer(
      "Examples:\n  kcbackup inspect bundle phone.backup --password-file pw.txt --device phone\n"
      "  kcbackup inspect keybag phone.backup/Manifest.plist --format json\n"
      "Run `kcbackup inspect COMMAND --help` for each command's options.");
  add_inspect_keybag(inspect, exit_code);
  add_inspect_blob(inspect, exit_code);
  add_inspect_archive(inspect, exit_code);
  add_inspect_bundle(inspect, exit_code);
}

}  // namespace kcb::cli
