// kcb_make_seed_corpus OUT_DIR: writes seed inputs for every fuzz target from real engine output,
// one folder per target (OUT_DIR/der_item, OUT_DIR/item_blob, OUT_DIR/archive): attribute
// dictionaries of every item class and accessibility and of every DER value kind, blobs of every
// key class 6..12 sealed under fuzz/fixed_keys.h's class key, keychain archives and manifests in
// binary and XML form, keybags of every wrap, whole bundles of every backup journey for the restore
// target (same-device ones made on the fixed target itself, others on another UID), and byte
// strings for the journey target. Deterministic: the same build writes the same bytes.
// scripts/make-seed-corpus runs it, minimizes the result with libFuzzer's -merge=1 and names each
// file by its SHA-1.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "engine/blob.h"
#include "engine/device_internals.h"
#include "engine/keybag.h"
#include "engine/manifest_db.h"
#include "fuzz/bundle_input.h"
#include "fuzz/fixed_keys.h"
#include "fuzz/folder_input.h"
#include "fuzz/folder_seeds.h"
#include "fuzz/restore_target.h"
#include "input/property_list.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/der.h"
#include "kcbackup/names.h"
#include "kcbackup/random.h"

namespace kcb {
namespace {

namespace fs = std::filesystem;

class SeedWriter {
 public:
  explicit SeedWriter(fs::path root) : root_(std::move(root)) {}

  void write(const std::string& target, const std::string& name, ByteView bytes) {
    const fs::path dir = root_ / target;
    fs::create_directories(dir);
    KCB_ASSERT(write_file_atomically(default_env(), dir / name, bytes).ok());
    ++count_;
  }
  int count() const { return count_; }

 private:
  fs::path root_;
  int count_ = 0;
};

Bytes random_bytes(Random& random, size_t n) {
  Bytes out(n);
  random.fill(out);
  return out;
}

DerValue date_now(Random& random) {
  return DerValue::Date(der_date_from_unix_seconds(random.now_unix_seconds()));
}

// The attributes every stored item has, as securityd writes them.
DerDict common_attributes(ItemClass item_class, Accessibility a, Random& random) {
  DerDict d;
  d.set("class", DerValue::String(std::string(name_of(item_class))));
  d.set("pdmn", DerValue::String(std::string(names_of(a).pdmn)));
  d.set("agrp", DerValue::String("ABCDE12345.com.example.app"));
  d.set("cdat", date_now(random));
  d.set("mdat", date_now(random));
  d.set("sync", DerValue::Integer(0));
  d.set("tomb", DerValue::Integer(0));
  d.set("musr", DerValue::Data(Bytes{}));
  d.set("sha1", DerValue::Data(random_bytes(random, 20)));
  d.set("UUID", DerValue::String("8A3C1B2E-4F5D-4E6A-9B7C-0D1E2F3A4B5C"));
  d.set("v_Data", DerValue::Data(as_bytes("correct horse battery staple")));
  return d;
}

DerDict item_attributes(ItemClass item_class, Accessibility a, Random& random) {
  DerDict d = common_attributes(item_class, a, random);
  switch (item_class) {
    case ItemClass::kGenp:
      d.set("acct", DerValue::String("user@example.com"));
      d.set("svce", DerValue::String("com.example.app.token"));
      d.set("labl", DerValue::String("Example token"));
      break;
    case ItemClass::kInet:
      d.set("acct", DerValue::String("alice"));
      d.set("srvr", DerValue::String("example.com"));
      d.set("ptcl", DerValue::Integer(0x68747073));  // 'htps'
      d.set("port", DerValue::Integer(443));
      d.set("path", DerValue::String("/login"));
      d.set("sdmn", DerValue::String(""));
      d.set("atyp", DerValue::Integer(0x666f726d));  // 'form'
      break;
    case ItemClass::kCert:
      d.set("ctyp", DerValue::Integer(3));
      d.set("cenc", DerValue::Integer(3));
      d.set("subj", DerValue::Data(random_bytes(random, 48)));
      d.set("issr", DerValue::Data(random_bytes(random, 48)));
      d.set("slnb", DerValue::Data(random_bytes(random, 9)));
      d.set("pkhh", DerValue::Data(random_bytes(random, 20)));
      break;
    case ItemClass::kKeys:
      d.set("kcls", DerValue::Integer(1));
      d.set("type", DerValue::Integer(73));
      d.set("bsiz", DerValue::Integer(256));
      d.set("esiz", DerValue::Integer(256));
      d.set("perm", DerValue::Boolean(true));
      d.set("priv", DerValue::Boolean(true));
      d.set("decr", DerValue::Boolean(true));
      d.set("encr", DerValue::Boolean(false));
      d.set("klbl", DerValue::Data(random_bytes(random, 20)));
      break;
  }
  return d;
}

// One dictionary holding every value kind at its encoding edges.
DerDict every_value_kind() {
  DerDict d;
  d.set("null", DerValue::Null());
  d.set("true", DerValue::Boolean(true));
  d.set("false", DerValue::Boolean(false));
  const int64_t ints[] = {0,
                          1,
                          -1,
                          127,
                          128,
                          -128,
                          -129,
                          255,
                          256,
                          65535,
                          -65536,
                          std::numeric_limits<int64_t>::max(),
                          std::numeric_limits<int64_t>::min()};
  DerArray integers;
  for (int64_t i : ints)
    integers.push_back(DerValue::Integer(i));
  d.set("integers", DerValue::Array(integers));
  d.set("string", DerValue::String("keychain"));
  d.set("empty string", DerValue::String(""));
  d.set("utf8", DerValue::String("p\xC3\xA4ssw\xC3\xB6rd \xE2\x82\xAC \xF0\x9F\x94\x91"));
  d.set("data", DerValue::Data(Bytes{0x00, 0xff, 0x80, 0x7f}));
  d.set("empty data", DerValue::Data(Bytes{}));
  d.set("long data", DerValue::Data(Bytes(300, 0xa5)));  // a two-byte length
  DerArray dates{DerValue::Date(DerDate{0}), DerValue::Date(DerDate{1704067200123}),
                 DerValue::Date(DerDate{-62167219200000}),   // 0000-01-01T00:00:00Z
                 DerValue::Date(DerDate{253402300799999})};  // 9999-12-31T23:59:59.999Z
  d.set("dates", DerValue::Array(dates));
  DerDict inner;
  inner.set("a", DerValue::Array({}));
  inner.set("b", DerValue::Dictionary({}));
  inner.set("c", DerValue::Array({DerValue::Array({DerValue::Integer(7)})}));
  d.set("nested", DerValue::Dictionary(inner));
  d.set("", DerValue::String("empty key"));
  return d;
}

Bytes encode(const DerValue& value) {
  auto bytes = encode_der(value);
  KCB_ASSERT(bytes.ok());
  return *bytes;
}

Bytes encode(const DerDict& dict) {
  Bytes out;
  KCB_ASSERT(encode_der_dictionary(dict, &out).ok());
  return out;
}

std::string accessibility_tag(Accessibility a) {
  return std::string(names_of(a).pdmn);
}

void write_der_seeds(SeedWriter& out, Random& random) {
  for (ItemClass c : kAllItemClasses) {
    for (Accessibility a : kAllAccessibilities) {
      out.write("der_item", std::string(name_of(c)) + "-" + accessibility_tag(a) + ".der",
                encode(item_attributes(c, a, random)));
    }
  }
  out.write("der_item", "every-kind.der", encode(every_value_kind()));
  out.write("der_item", "empty-dict.der", encode(DerDict{}));
  const DerValue scalars[] = {DerValue::Null(),
                              DerValue::Boolean(true),
                              DerValue::Integer(-200),
                              DerValue::String("acct"),
                              DerValue::Data(as_bytes("v_Data")),
                              DerValue::Date(DerDate{1704067200000}),
                              DerValue::Array({DerValue::String("x"), DerValue::Integer(1)})};
  for (const DerValue& v : scalars) {
    out.write("der_item", "value-" + std::string(der_kind_name(v.kind())) + ".der", encode(v));
  }
}

// Blobs of every key class, plus the shapes the parser must refuse or fail to open.
std::vector<Bytes> write_blob_seeds(SeedWriter& out, Random& random) {
  std::vector<Bytes> blobs;
  for (Accessibility a : kAllAccessibilities) {
    const uint32_t key_class = names_of(a).key_class;
    const Bytes plaintext = encode(item_attributes(ItemClass::kGenp, a, random));
    auto blob = seal_blob(key_class, fuzz::kClassKey, plaintext, random);
    KCB_ASSERT(blob.ok());
    out.write("item_blob", "class-" + std::to_string(key_class) + ".blob", *blob);
    blobs.push_back(*blob);
  }
  auto empty = seal_blob(6, fuzz::kClassKey, {}, random);
  KCB_ASSERT(empty.ok());
  out.write("item_blob", "empty-plaintext.blob", *empty);
  auto flagged = seal_blob(0x80000009, fuzz::kClassKey, as_bytes("flags"), random);
  KCB_ASSERT(flagged.ok());
  out.write("item_blob", "flagged-keyclass.blob", *flagged);
  const Bytes other_key = random_bytes(random, 32);
  auto foreign = seal_blob(7, other_key, as_bytes("another class key"), random);
  KCB_ASSERT(foreign.ok());
  out.write("item_blob", "wrong-class-key.blob", *foreign);
  Bytes tampered = blobs.front();
  tampered.back() ^= 0x01;
  out.write("item_blob", "tampered-tag.blob", tampered);
  return blobs;
}

KeychainArchive sample_archive(const std::vector<Bytes>& blobs, Random& random) {
  KeychainArchive archive;
  int64_t rowid = 1;
  for (ItemClass c : kAllItemClasses) {
    for (size_t i = 0; i < 2 && i < blobs.size(); ++i) {
      archive.items[static_cast<size_t>(c)].push_back(
          {blobs[(rowid + i) % blobs.size()], make_persistent_ref(c, rowid)});
      ++rowid;
    }
  }
  archive.keybag_uuid = uuid_text(random_bytes(random, 16));
  return archive;
}

// The same document as XML: the readers take both.
Bytes as_xml(ByteView binary_plist) {
  auto node = parse_plist(binary_plist, "seed");
  KCB_ASSERT(node.ok());
  return to_xml_plist(node->get());
}

void write_archive_seeds(SeedWriter& out, const std::vector<Bytes>& blobs, Random& random) {
  const Bytes full = write_keychain_archive(sample_archive(blobs, random));
  out.write("archive", "archive.bplist", full);
  out.write("archive", "archive.xml", as_xml(full));
  KeychainArchive empty;
  empty.keybag_uuid = uuid_text(random_bytes(random, 16));
  out.write("archive", "archive-empty.bplist", write_keychain_archive(empty));
  for (Journey j : kAllJourneys) {
    Manifest m;
    m.backup_keybag = random_bytes(random, 64);
    m.is_encrypted = j == Journey::kLocalEncrypted;
    m.lockdown.unique_device_id = to_hex(random_bytes(random, 20));
    m.journey = std::string(name_of(j));
    const Bytes bytes = write_manifest(m);
    out.write("archive", "manifest-" + m.journey + ".bplist", bytes);
    out.write("archive", "manifest-" + m.journey + ".xml", as_xml(bytes));
  }
}

// Documents the plist guard must refuse before libplist sees them (engine/property_list.cc):
// character references to NUL, nesting past the depth cap, a binary plist whose references expand
// far past its size, and a manifest whose IsEncrypted is a dictionary.
Bytes xml_manifest(const std::string& body) {
  const std::string text =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n" + body +
      "</dict>\n</plist>\n";
  return Bytes(text.begin(), text.end());
}

Bytes expanding_bplist() {
  constexpr size_t kRefs = 200;
  constexpr size_t kDataBytes = 1000;
  Bytes b = {'b', 'p', 'l', 'i', 's', 't', '0', '0'};
  const size_t array_at = b.size();
  b.insert(b.end(), {0xAF, 0x10, static_cast<uint8_t>(kRefs)});  // array of kRefs refs
  b.insert(b.end(), kRefs, 0x01);                                // all to object 1
  const size_t data_at = b.size();
  b.insert(b.end(), {0x4F, 0x11, kDataBytes >> 8, kDataBytes & 0xFF});  // data, 2-byte length
  b.insert(b.end(), kDataBytes, 0xA5);
  const size_t table_at = b.size();
  for (size_t at : {array_at, data_at})
    b.insert(b.end(), {static_cast<uint8_t>(at >> 8), static_cast<uint8_t>(at)});
  b.insert(b.end(), {0, 0, 0, 0, 0, 0, 2, 1});  // unused, offset size 2, ref size 1
  for (uint64_t v : {uint64_t{2}, uint64_t{0}, uint64_t{table_at}}) {
    append_be(b, v);
  }
  return b;
}

void write_plist_guard_seeds(SeedWriter& out) {
  out.write("archive", "nul-reference.xml",
            xml_manifest("<key>Journey</key><string>lo&#0;cal</string>\n"
                         "<key>a&#x00;b</key><string>x</string>\n"));
  std::string deep;
  for (int i = 0; i < 20; ++i)
    deep += "<array>";
  for (int i = 0; i < 20; ++i)
    deep += "</array>";
  out.write("archive", "too-deep.xml", xml_manifest("<key>genp</key>" + deep + "\n"));
  out.write("archive", "expanding.bplist", expanding_bplist());
  out.write("archive", "is-encrypted-dict.xml",
            xml_manifest("<key>BackupKeyBag</key><data>AAAA</data>\n"
                         "<key>IsEncrypted</key><dict/>\n"));
}

// Bags from the writer with the target's password and device key and cheap KDF parameters.
void write_keybag(SeedWriter& out, const std::string& name, KeybagType type, uint32_t wrap,
                  ByteView password, bool double_protection, Random& random) {
  std::vector<NewClassKey> classes;
  for (Accessibility a : kAllAccessibilities) {
    NewClassKey c;
    c.class_number = names_of(a).key_class;
    c.wrap =
        wrap == 0 ? (c.class_number % 2 == 0 ? kWrapPassword : kWrapPassword | kWrapDevice) : wrap;
    classes.push_back(std::move(c));
  }
  const KeybagKdf kdf{2, double_protection, 2};
  auto bag = create_keybag(type, classes, password, ByteView(fuzz::kDeviceKey), kdf, random);
  KCB_ASSERT(bag.ok());
  out.write("keybag", name, serialize_keybag(bag->bag));
}

void write_keybag_seeds(SeedWriter& out, Random& random) {
  const ByteView password(fuzz::kPassword);
  write_keybag(out, "backup-password.kb", KeybagType::kBackup, kWrapPassword, password, true,
               random);
  write_keybag(out, "backup-mixed.kb", KeybagType::kBackup, 0, password, true, random);
  write_keybag(out, "system-device.kb", KeybagType::kSystem, kWrapPassword | kWrapDevice, password,
               false, random);
  write_keybag(out, "system-device-only.kb", KeybagType::kSystem, kWrapDevice, password, false,
               random);
  write_keybag(out, "escrow-empty-password.kb", KeybagType::kEscrow, kWrapPassword, {}, true,
               random);
}

// Which items a seed's source device holds besides the fixed target's own (same hardware only).
enum class SeedItems {
  kOne,       // one genp item of class 6: small and fast
  kRotating,  // one item per accessibility, the item class rotating, plus the special items
  kEvery,     // every item class x accessibility, plus the special items
};

// The special items: a synchronizable, a token, an auth-constrained and a system-bound one; the
// export filter drops the token and auth ones, restore keeps the target's sync and sysb rows.
void add_special_items(Device& device, Random& random) {
  NewItem synced = fuzz::target_item(ItemClass::kGenp, Accessibility::kAlways, "seed-sync");
  synced.synchronizable = true;
  NewItem token = fuzz::target_item(ItemClass::kKeys, Accessibility::kWhenUnlocked, "seed-token");
  token.token = Token::kSecureEnclave;
  NewItem auth = fuzz::target_item(ItemClass::kInet, Accessibility::kAfterFirstUnlock, "seed-auth");
  auth.auth_constraint = true;
  NewItem bound = fuzz::target_item(ItemClass::kCert, Accessibility::kWhenUnlocked, "seed-sysb");
  bound.system_bound = SystemBound::kPreserveDuringRestore;
  for (const NewItem* item : {&synced, &token, &auth, &bound})
    KCB_ASSERT(device.add(*item, random).ok());
}

// A source device on the fixed target's hardware (then holding the target's own items too, so its
// synchronizable one comes back as a duplicate) or on another UID.
std::unique_ptr<Device> seed_source(bool same_device, bool passcode, SeedItems which,
                                    Random& random) {
  std::unique_ptr<Device> device;
  if (same_device) {
    device = fuzz::make_target_device(passcode);
  } else {
    DeviceConfig config;
    config.passcode = passcode;
    config.uid = Bytes(fuzz::kOtherUid.begin(), fuzz::kOtherUid.end());
    auto created = Device::create_in_memory(config, random);
    KCB_ASSERT(created.ok());
    device = std::move(created).value();
  }
  if (which == SeedItems::kOne) {
    NewItem one = fuzz::target_item(ItemClass::kGenp, Accessibility::kWhenUnlocked, "seed-one");
    KCB_ASSERT(device->add(one, random).ok());
    return device;
  }
  size_t n = 0;
  for (size_t ai = 0; ai < std::size(kAllAccessibilities); ++ai) {
    const Accessibility a = kAllAccessibilities[ai];
    if (!passcode && a == Accessibility::kWhenPasscodeSetThisDeviceOnly) continue;
    for (ItemClass c : kAllItemClasses) {
      if (which == SeedItems::kRotating && static_cast<size_t>(c) != ai % 4) continue;
      KCB_ASSERT(device->add(fuzz::target_item(c, a, "seed-" + std::to_string(n++)), random).ok());
    }
  }
  add_special_items(*device, random);
  return device;
}

// The keychain file of a folder as its source device opens it.
Bytes keychain_file_of(const BackupFolder& folder, const Device& source,
                       const std::string& password) {
  BackupOpenOptions o;
  o.password = password;
  o.device = &source;
  auto backup = OpenedBackup::open(folder, o);
  KCB_ASSERT(backup.ok());
  const BackupFileEntry* e = backup->find(kKeychainDomain, kKeychainRelativePath);
  KCB_ASSERT(e != nullptr);
  auto plist = backup->read_file(*e, kMaxPlistBytes);
  KCB_ASSERT(plist.ok());
  return Bytes(plist->view().begin(), plist->view().end());
}

void write_bundle_seed(SeedWriter& out, const std::string& name, Device& source, Journey j,
                       uint8_t target, Random& random) {
  const std::string password(fuzz::kPassword.begin(), fuzz::kPassword.end());
  const bool encrypted = j == Journey::kLocalEncrypted || j == Journey::kQuickStart;
  const BackupOptions options{j, encrypted ? password : "", KeybagKdf{2, true, 2}};
  auto folder = make_backup(source, options, random);
  KCB_ASSERT(folder.ok());
  out.write("restore", name + "-" + std::string(name_of(j)) + ".bundle",
            fuzz::join_bundle_input(target, folder->files.at(kManifestPlistName),
                                    keychain_file_of(*folder, source, password)));
}

// Bundles of every backup journey with the restore target's password and KDF counts of 2, so that
// they open under its caps of 16: same-device and other-device sources, with and without a
// passcode (restored onto the target variant of the same setting), and small one-item bundles,
// also restored without the password.
void write_restore_seeds(SeedWriter& out, Random& random) {
  const Journey journeys[] = {Journey::kLocal, Journey::kLocalEncrypted, Journey::kIcloudBackup,
                              Journey::kQuickStart};
  for (bool same_device : {true, false}) {
    for (bool passcode : {true, false}) {
      const SeedItems which = same_device && passcode ? SeedItems::kEvery : SeedItems::kRotating;
      auto source = seed_source(same_device, passcode, which, random);
      const std::string name = std::string(same_device ? "same" : "other") + "-" +
                               (passcode ? "passcode" : "no-passcode");
      for (Journey j : journeys)
        write_bundle_seed(out, name, *source, j, passcode ? 0 : fuzz::kTargetWithoutPasscode,
                          random);
    }
    auto small = seed_source(same_device, true, SeedItems::kOne, random);
    const std::string one = std::string(same_device ? "same" : "other") + "-one";
    for (Journey j : journeys) {
      write_bundle_seed(out, one, *small, j, 0, random);
      // Restored without the password: only the bundles that are not encrypted open.
      write_bundle_seed(out, one + "-no-password", *small, j, fuzz::kRestoreWithoutPassword,
                        random);
    }
  }
}

// An item re-sealed under class 7's key with 7 in its keyclass field: the blob opens, but its pdmn
// (ak, class 6) does not match the class, so restore must drop it as corrupt.
void write_forged_class_seed(SeedWriter& out, Random& random) {
  const std::string password(fuzz::kPassword.begin(), fuzz::kPassword.end());
  auto source = seed_source(false, true, SeedItems::kOne, random);
  auto folder =
      make_backup(*source, {Journey::kLocalEncrypted, password, KeybagKdf{2, true, 2}}, random);
  KCB_ASSERT(folder.ok());
  auto archive = read_keychain_archive(keychain_file_of(*folder, *source, password));
  KCB_ASSERT(archive.ok());
  auto manifest = read_folder_manifest(*folder);
  KCB_ASSERT(manifest.ok());
  auto bag = parse_keybag(manifest->backup_keybag);
  KCB_ASSERT(bag.ok());
  auto keys = unlock_keybag(*bag, as_bytes(password), DeviceInternals::device_key(*source));
  KCB_ASSERT(keys.ok() && keys->key_for(6) != nullptr && keys->key_for(7) != nullptr);
  ArchivedItem& item = archive->items[static_cast<size_t>(ItemClass::kGenp)].front();
  auto parsed = parse_blob(item.blob);
  KCB_ASSERT(parsed.ok());
  auto plaintext = open_blob(*parsed, keys->key_for(6)->view());
  KCB_ASSERT(plaintext.ok());
  auto forged = seal_blob(7, keys->key_for(7)->view(), plaintext->view(), random);
  KCB_ASSERT(forged.ok());
  item.blob = std::move(forged).value();
  out.write("restore", "forged-class.bundle",
            fuzz::join_bundle_input(0, folder->files.at(kManifestPlistName),
                                    write_keychain_archive(*archive)));
}

// The journey target reads its case with FuzzedDataProvider: any bytes are a case, so a spread of
// lengths from the seeded stream is enough to start from every journey.
void write_journey_seeds(SeedWriter& out, Random& random) {
  for (int i = 0; i < 24; ++i) {
    out.write("journey", "case-" + std::to_string(i), random_bytes(random, 24 + 16 * i));
  }
}

// The folder target's seeds: whole folders of every backup journey with app files beside the
// keychain (classes 1 to 4, a nested path, an empty file), from the fixed target's hardware and
// from another UID, restored with and without the password; and the refused neighbours a real
// folder can be (unfinished, a listed blob missing, an iOS 9 Manifest.mbdb, a blob cut short).
Bytes bytes_of(std::string_view text) {
  const ByteView b = as_bytes(text);
  return Bytes(b.begin(), b.end());
}

void add_app_files(Device& device) {
  const AppFile files[] = {
      {"AppDomain-com.example.app", "Documents/notes.txt", 1, Bytes(40, 'n')},
      {"AppDomain-com.example.app", "Library/Preferences/com.example.app.plist", 3,
       bytes_of("<plist><dict/></plist>")},
      {"AppDomainGroup-group.com.example", "Shared/empty", 2, {}},
      {"HomeDomain", "Library/x", 4, Bytes(17, 0x5a)},
  };
  for (const AppFile& f : files)
    KCB_ASSERT(device.put_app_file(f).ok());
}

BackupFolder seed_folder(Device& source, Journey j, Random& random) {
  const std::string password(fuzz::kPassword.begin(), fuzz::kPassword.end());
  const bool encrypted = j == Journey::kLocalEncrypted || j == Journey::kQuickStart;
  auto folder = make_backup(source, {j, encrypted ? password : "", KeybagKdf{2, true, 2}}, random);
  KCB_ASSERT(folder.ok());
  return std::move(folder).value();
}

void write_folder_seed(SeedWriter& out, const std::string& name, const BackupFolder& folder,
                       uint8_t target) {
  fuzz::FolderInput in{target, folder.files};
  out.write("folder", name + ".folder", fuzz::encode_folder_input(in));
}

void write_folder_restore_seeds(SeedWriter& out) {
  auto random = make_seeded_random(fuzz::kSeed + 13);
  const Journey journeys[] = {Journey::kLocal, Journey::kLocalEncrypted, Journey::kIcloudBackup,
                              Journey::kQuickStart};
  for (bool same_device : {true, false}) {
    const std::string where = same_device ? "same" : "other";
    auto rotating = seed_source(same_device, true, SeedItems::kRotating, *random);
    add_app_files(*rotating);
    auto small = seed_source(same_device, true, SeedItems::kOne, *random);
    auto bare = seed_source(same_device, false, SeedItems::kOne, *random);
    add_app_files(*bare);
    for (Journey j : journeys) {
      const std::string jn(name_of(j));
      write_folder_seed(out, where + "-apps-" + jn, seed_folder(*rotating, j, *random), 0);
      const BackupFolder one = seed_folder(*small, j, *random);
      write_folder_seed(out, where + "-one-" + jn, one, 0);
      write_folder_seed(out, where + "-one-no-password-" + jn, one, fuzz::kRestoreWithoutPassword);
      write_folder_seed(out, where + "-no-passcode-" + jn, seed_folder(*bare, j, *random),
                        fuzz::kTargetWithoutPasscode);
    }
  }
  auto source = seed_source(false, true, SeedItems::kOne, *random);
  add_app_files(*source);
  const BackupFolder folder = seed_folder(*source, Journey::kLocalEncrypted, *random);
  BackupFolder unfinished = folder;
  BackupStatus status;
  status.snapshot_state = "new";
  unfinished.files[kStatusPlistName] = write_backup_status(status);
  write_folder_seed(out, "unfinished", unfinished, 0);
  BackupFolder missing = folder;
  const std::string notes_id = file_id_of("AppDomain-com.example.app", "Documents/notes.txt");
  missing.files.erase(notes_id.substr(0, 2) + "/" + notes_id);
  write_folder_seed(out, "missing-blob", missing, 0);
  BackupFolder cut = folder;
  Bytes& blob = cut.files.at(notes_id.substr(0, 2) + "/" + notes_id);
  blob.resize(blob.size() - 1);
  write_folder_seed(out, "partial-block", cut, 0);
  BackupFolder old = folder;
  old.files[kManifestMbdbName] = bytes_of(std::string_view("mbdb\x05\x00", 6));
  write_folder_seed(out, "manifest-mbdb", old, 0);
}

}  // namespace
}  // namespace kcb

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n  writes seed inputs for every fuzz target\n",
                 argv[0]);
    return 2;
  }
  auto random = kcb::make_seeded_random(kcb::fuzz::kSeed);
  kcb::SeedWriter out{std::filesystem::path(argv[1])};
  kcb::write_der_seeds(out, *random);
  const auto blobs = kcb::write_blob_seeds(out, *random);
  kcb::write_archive_seeds(out, blobs, *random);
  kcb::write_plist_guard_seeds(out);
  kcb::write_keybag_seeds(out, *random);
  kcb::write_restore_seeds(out, *random);
  kcb::write_forged_class_seed(out, *random);
  kcb::write_journey_seeds(out, *random);
  // manifest_db and mbfile (issue 13): fuzz/folder_seeds.cc.
  kcb::fuzz::write_folder_seeds([&](const std::string& t, const std::string& name,
                                    kcb::ByteView b) { out.write(t, name, b); });
  // folder (issues 13 and 15): its own Random, so the seeds above stay byte for byte the same.
  kcb::write_folder_restore_seeds(out);
  std::printf("make_seed_corpus: wrote %d seed files under %s\n", out.count(), argv[1]);
  return 0;
}
