#include "kcbackup/backup_folder.h"

#include <plist/plist.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "engine/archive_internal.h"
#include "engine/backup_bag.h"
#include "engine/binary_plist_writer.h"
#include "engine/crypto.h"
#include "engine/device_internals.h"
#include "engine/file_crypto.h"
#include "engine/folder_writer.h"
#include "engine/keybag.h"
#include "engine/manifest_db.h"
#include "engine/mbfile.h"
#include "engine/plist_doc.h"
#include "engine/setup_profile.h"
#include "input/property_list.h"
#include "kcbackup/utf8.h"

namespace kcb {
namespace {

namespace fs = std::filesystem;

// Manifest.plist, Info.plist and Status.plist of a real backup are a few KB (Info.plist with
// iTunes files a few MB): anything near this cap is not one.
constexpr size_t kMaxSmallPlistBytes = 32 << 20;
constexpr size_t kManifestKeyClassBytes = 4;

uint32_t read_le32(ByteView b) {
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

// The members of one dictionary of a parsed plist, in place or from libplist's tree
// (engine/plist_doc.h). A member's path ("Manifest.plist: Lockdown.DeviceName") is spelled out
// only for an error: the getters are asked once without it and, when they refuse, again with it.
template <typename Doc>
class PlistFields {
 public:
  using Node = typename Doc::Node;
  PlistFields(const Doc& doc, Node dict, std::string_view where)
      : doc_(doc), dict_(dict), where_(where) {}

  bool has(const char* key) const { return doc_.get(dict_, key).has_value(); }
  // Required members: a missing one is "expected <type>, found nothing".
  Result<ByteView> data(const char* key) const {
    return read(key, PLIST_DATA, [&](Node n, std::string_view path) { return doc_.data(n, path); });
  }
  Result<std::string> string(const char* key) const {
    return read(key, PLIST_STRING,
                [&](Node n, std::string_view path) { return doc_.string(n, path); });
  }
  Result<bool> boolean(const char* key) const {
    return read(key, PLIST_BOOLEAN,
                [&](Node n, std::string_view path) { return doc_.boolean(n, path); });
  }
  Result<Node> dict(const char* key) const {
    return read(key, PLIST_DICT, [&](Node n, std::string_view path) -> Result<Node> {
      KCB_RETURN_IF_ERROR(doc_.expect(n, PLIST_DICT, path));
      return n;
    });
  }
  // Optional members: absent is "" or false; another type is Corruption naming it.
  Result<std::string> optional_string(const char* key) const {
    if (!has(key)) return std::string();
    return string(key);
  }
  Result<bool> optional_bool(const char* key) const {
    if (!has(key)) return false;
    return boolean(key);
  }
  // A date as Unix seconds; absent or another type (real writers vary) is 0: nothing kcbackup
  // decides depends on a date.
  int64_t optional_date(const char* key) const {
    const auto n = doc_.get(dict_, key);
    const std::optional<int32_t> sec = n ? doc_.date_seconds(*n) : std::nullopt;
    return sec ? int64_t{*sec} + kAppleEpochUnixSeconds : 0;
  }

 private:
  template <typename Get>
  auto read(const char* key, plist_type type, const Get& get) const -> decltype(get(Node{}, "")) {
    const auto n = doc_.get(dict_, key);
    if (!n) return expect_plist_type(nullptr, type, path(key));
    return with_path_on_error([&](std::string_view p) { return get(*n, p); },
                              [&] { return path(key); });
  }
  std::string path(const char* key) const { return std::string(where_) + key; }

  const Doc& doc_;
  Node dict_;
  std::string_view where_;
};

std::string missing(std::string_view name, std::string_view why) {
  return std::string(name) + ": missing: " + std::string(why);
}

}  // namespace

// --- Sources --------------------------------------------------------------------------------

Result<Bytes> BackupFolder::read(std::string_view name, size_t max_bytes) const {
  auto it = files.find(name);
  if (it == files.end()) return Status::NotFound(std::string(name) + ": does not exist");
  if (it->second.size() > max_bytes) {
    return Status::ResourceExhausted(std::string(name) + ": more than " +
                                     std::to_string(max_bytes) + " bytes");
  }
  return it->second;
}

Result<Bytes> DiskFolder::read(std::string_view name, size_t max_bytes) const {
  const fs::path path = dir_ / std::string(name);
  if (env_.kind_of(path) == FileKind::kMissing) {
    if (env_.kind_of(dir_) != FileKind::kDirectory) {
      return Status::IOError(dir_.string() + ": not a backup folder (no such directory)");
    }
    return Status::NotFound(path.string() + ": does not exist");
  }
  return env_.read_file(path, max_bytes);
}

std::string BackupFileEntry::file_id() const {
  return to_hex(file_digest);
}

std::string BackupFileEntry::blob_name() const {
  const std::string id = file_id();
  return id.substr(0, 2) + "/" + id;
}

// The top-level files go last, Status.plist the very last: readers refuse a folder without it.
Status write_backup_folder(Env& env, const fs::path& dir, const BackupFolder& folder) {
  KCB_RETURN_IF_ERROR(create_empty_dir(env, dir));
  const std::set<std::string_view> top = {kInfoPlistName, kManifestPlistName, kManifestDbName,
                                          kStatusPlistName};
  std::set<std::string> subdirs;
  for (const auto& [name, bytes] : folder.files) {
    if (top.count(name) != 0) continue;
    const fs::path path = dir / name;
    if (subdirs.insert(path.parent_path().string()).second) {
      KCB_RETURN_IF_ERROR(env.create_dirs(path.parent_path()));
    }
    // One fsync per blob, one per folder below; no rename: until Status.plist exists the folder
    // is unfinished as a whole, so a torn blob is never taken for a finished one.
    KCB_RETURN_IF_ERROR(env.write_file(path, bytes));
    KCB_RETURN_IF_ERROR(env.sync_file(path));
  }
  for (const std::string& sub : subdirs)
    KCB_RETURN_IF_ERROR(env.sync_dir(sub));
  for (const char* name : {kInfoPlistName, kManifestDbName, kManifestPlistName, kStatusPlistName}) {
    auto it = folder.files.find(std::string_view(name));
    if (it == folder.files.end()) {
      return Status::InvalidArgument(std::string("backup folder: no ") + name + " to write");
    }
    KCB_RETURN_IF_ERROR(write_file_atomically(env, dir / name, it->second));
  }
  // The folder's own name in its parent: without this fsync a power loss can take the whole
  // finished backup away (tests/fault_test.cc, Faults.Backup's crash runs).
  return env.sync_dir(dir.parent_path());
}

// --- Manifest.plist, Status.plist, Info.plist -------------------------------------------------

Bytes write_manifest(const Manifest& m) {
  BinaryPlistWriter w;
  using Ref = BinaryPlistWriter::Ref;
  const LockdownInfo& l = m.lockdown;
  const std::pair<Ref, Ref> lockdown[] = {
      {w.string("BuildVersion"), w.string(l.build_version)},
      {w.string("DeviceName"), w.string(l.device_name)},
      {w.string("ProductType"), w.string(l.product_type)},
      {w.string("ProductVersion"), w.string(l.product_version)},
      {w.string("SerialNumber"), w.string(l.serial_number)},
      {w.string("UniqueDeviceID"), w.string(l.unique_device_id)}};
  std::vector<std::pair<Ref, Ref>> root = {
      {w.string("BackupKeyBag"), w.data(m.backup_keybag)},
      {w.string("Date"), w.date(m.date)},
      {w.string("IsEncrypted"), w.boolean(m.is_encrypted)},
      {w.string("Lockdown"), w.dict(lockdown)},
      {w.string("Version"), w.string(m.version)},
      {w.string("WasPasscodeSet"), w.boolean(m.was_passcode_set)}};
  if (m.manifest_key) root.emplace_back(w.string("ManifestKey"), w.data(*m.manifest_key));
  if (!m.journey.empty()) root.emplace_back(w.string("Journey"), w.string(m.journey));
  return w.finish(w.dict(root));
}

namespace {

template <typename Doc>
Result<Manifest> read_manifest_from(const Doc& doc, typename Doc::Node root) {
  KCB_RETURN_IF_ERROR(doc.expect(root, PLIST_DICT, kManifestPlistName));
  const PlistFields<Doc> top(doc, root, "Manifest.plist: ");
  Manifest m;
  KCB_ASSIGN_OR_RETURN(ByteView bag, top.data("BackupKeyBag"));
  m.backup_keybag.assign(bag.begin(), bag.end());
  KCB_ASSIGN_OR_RETURN(m.is_encrypted, top.boolean("IsEncrypted"));
  if (top.has("ManifestKey")) {
    KCB_ASSIGN_OR_RETURN(ByteView k, top.data("ManifestKey"));
    m.manifest_key = Bytes(k.begin(), k.end());
  }
  KCB_ASSIGN_OR_RETURN(typename Doc::Node lockdown_dict, top.dict("Lockdown"));
  const PlistFields<Doc> lockdown(doc, lockdown_dict, "Manifest.plist: Lockdown.");
  LockdownInfo& l = m.lockdown;
  KCB_ASSIGN_OR_RETURN(l.unique_device_id, lockdown.string("UniqueDeviceID"));
  KCB_ASSIGN_OR_RETURN(l.product_type, lockdown.optional_string("ProductType"));
  KCB_ASSIGN_OR_RETURN(l.product_version, lockdown.optional_string("ProductVersion"));
  KCB_ASSIGN_OR_RETURN(l.build_version, lockdown.optional_string("BuildVersion"));
  KCB_ASSIGN_OR_RETURN(l.device_name, lockdown.optional_string("DeviceName"));
  KCB_ASSIGN_OR_RETURN(l.serial_number, lockdown.optional_string("SerialNumber"));
  KCB_ASSIGN_OR_RETURN(m.version, top.optional_string("Version"));
  KCB_ASSIGN_OR_RETURN(m.was_passcode_set, top.optional_bool("WasPasscodeSet"));
  KCB_ASSIGN_OR_RETURN(m.journey, top.optional_string("Journey"));
  m.date = top.optional_date("Date");
  return m;
}

template <typename Doc>
Result<BackupStatus> read_backup_status_from(const Doc& doc, typename Doc::Node root) {
  KCB_RETURN_IF_ERROR(doc.expect(root, PLIST_DICT, kStatusPlistName));
  const PlistFields<Doc> top(doc, root, "Status.plist: ");
  BackupStatus s;
  KCB_ASSIGN_OR_RETURN(s.snapshot_state, top.string("SnapshotState"));
  KCB_ASSIGN_OR_RETURN(s.is_full_backup, top.optional_bool("IsFullBackup"));
  KCB_ASSIGN_OR_RETURN(s.uuid, top.optional_string("UUID"));
  KCB_ASSIGN_OR_RETURN(s.version, top.optional_string("Version"));
  s.date = top.optional_date("Date");
  return s;
}

// A binary document (what real backups and our writer make) is read in place, an XML one through
// libplist: restore and the fuzz targets read a Manifest.plist per backup opened. `read` is a
// reader template over both forms (engine/plist_doc.h).
template <typename Read>
auto read_through_libplist(ByteView bytes, const char* name, const Read& read)
    -> decltype(read(TreeDoc{}, plist_t{})) {
  KCB_ASSIGN_OR_RETURN(PlistPtr root, parse_plist(bytes, name));
  return read(TreeDoc{}, root.get());
}

template <typename Read>
auto read_either_form(ByteView bytes, const char* name, const Read& read)
    -> decltype(read(TreeDoc{}, plist_t{})) {
  if (!BinaryPlist::is_binary(bytes)) return read_through_libplist(bytes, name, read);
  KCB_ASSIGN_OR_RETURN(BinaryPlist plist, BinaryPlist::parse(bytes, name));
  return read(BinaryDoc{plist}, plist.root());
}

const auto kManifestReader = [](const auto& doc, auto root) {
  return read_manifest_from(doc, root);
};
const auto kStatusReader = [](const auto& doc, auto root) {
  return read_backup_status_from(doc, root);
};

}  // namespace

Result<Manifest> read_manifest_through_libplist(ByteView bytes) {
  return read_through_libplist(bytes, kManifestPlistName, kManifestReader);
}

Result<Manifest> read_manifest(ByteView bytes) {
  return read_either_form(bytes, kManifestPlistName, kManifestReader);
}

Bytes write_backup_status(const BackupStatus& s) {
  BinaryPlistWriter w;
  using Ref = BinaryPlistWriter::Ref;
  const std::pair<Ref, Ref> root[] = {{w.string("BackupState"), w.string("new")},
                                      {w.string("Date"), w.date(s.date)},
                                      {w.string("IsFullBackup"), w.boolean(s.is_full_backup)},
                                      {w.string("SnapshotState"), w.string(s.snapshot_state)},
                                      {w.string("UUID"), w.string(s.uuid)},
                                      {w.string("Version"), w.string(s.version)}};
  return w.finish(w.dict(root));
}

Result<BackupStatus> read_backup_status_through_libplist(ByteView bytes) {
  return read_through_libplist(bytes, kStatusPlistName, kStatusReader);
}

Result<BackupStatus> read_backup_status(ByteView bytes) {
  return read_either_form(bytes, kStatusPlistName, kStatusReader);
}

Result<Manifest> read_folder_manifest(const FolderSource& folder) {
  auto bytes = folder.read(kManifestPlistName, kMaxSmallPlistBytes);
  if (bytes.status().code() == Code::kNotFound) {
    return Status::Corruption(missing(kManifestPlistName, "not a backup folder"));
  }
  KCB_RETURN_IF_ERROR(bytes.status());
  return read_manifest(*bytes);
}

Bytes backup_key_file_text(const SecretBytes& key) {
  const std::string hex = to_hex(key.view()) + "\n";
  return Bytes(hex.begin(), hex.end());
}

Result<SecretBytes> parse_backup_key_file(ByteView text) {
  std::string_view t(reinterpret_cast<const char*>(text.data()), text.size());
  if (!t.empty() && t.back() == '\n') t.remove_suffix(1);
  if (!t.empty() && t.back() == '\r') t.remove_suffix(1);
  if (t.size() != 2 * kClassKeySize) {
    return Status::InvalidArgument("backup key file: " + std::to_string(t.size()) +
                                   " characters, expected 64 hex digits (from `kcbackup unlock "
                                   "--key-out`)");
  }
  Bytes key;
  if (!from_hex(t, &key)) {
    return Status::InvalidArgument(
        "backup key file: not hex digits (from `kcbackup unlock "
        "--key-out`)");
  }
  SecretBytes out{ByteView(key)};
  wipe(key);
  return out;
}

// Info.plist is XML in real folders and holds what Finder shows; kcbackup only reports it.
// Through libplist's tree: the reference the direct writer below is held to.
Bytes write_info_plist_through_libplist(const LockdownInfo& l, int64_t date) {
  PlistPtr root(plist_new_dict());
  auto put = [&](const char* key, const std::string& value) {
    plist_dict_set_item(root.get(), key, plist_new_string(value.c_str()));
  };
  put("Build Version", l.build_version);
  put("Device Name", l.device_name);
  put("Display Name", l.device_name);
  plist_dict_set_item(root.get(), "Last Backup Date",
                      plist_new_date(static_cast<int32_t>(date - kAppleEpochUnixSeconds), 0));
  put("Product Type", l.product_type);
  put("Product Version", l.product_version);
  put("Serial Number", l.serial_number);
  put("Target Identifier", l.unique_device_id);
  put("Target Type", "Device");
  put("Unique Identifier", l.unique_device_id);
  return to_xml_plist(root.get());
}

namespace {

// libplist's XML for a dictionary entry: a tab, the key, a tab, the value, each on its line; in
// text only &, < and > are escaped (everything else, control characters too, goes out as it is).
void append_string_entry(std::string& out, std::string_view key, std::string_view value) {
  out += "\t<key>";
  append_xml_escaped(out, key);
  out += "</key>\n\t<string>";
  append_xml_escaped(out, value);
  out += "</string>\n";
}

// A date as libplist writes one: its seconds since 2001 as an int32 (as plist_new_date takes
// them), in UTC.
void append_date_entry(std::string& out, std::string_view key, int64_t unix_seconds) {
  const auto apple = static_cast<int32_t>(unix_seconds - kAppleEpochUnixSeconds);
  const time_t t = static_cast<time_t>(int64_t{apple} + kAppleEpochUnixSeconds);
  struct tm tm {};
  KCB_ASSERT(gmtime_r(&t, &tm) != nullptr);
  char text[32];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  KCB_ASSERT(n > 0);
  out += "\t<key>";
  append_xml_escaped(out, key);
  out += "</key>\n\t<date>";
  out.append(text, n);
  out += "</date>\n";
}

}  // namespace

// The same bytes written directly: through libplist's tree Info.plist cost about forty
// allocations of every backup (issue 17). tests/backup_folder_test.cc compares the two, hostile
// text included; the baseline set-up writes through libplist.
Bytes write_info_plist(const LockdownInfo& l, int64_t date) {
  if (baseline_setup()) return write_info_plist_through_libplist(l, date);
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
      "<plist version=\"1.0\">\n<dict>\n";
  append_string_entry(out, "Build Version", l.build_version);
  append_string_entry(out, "Device Name", l.device_name);
  append_string_entry(out, "Display Name", l.device_name);
  append_date_entry(out, "Last Backup Date", date);
  append_string_entry(out, "Product Type", l.product_type);
  append_string_entry(out, "Product Version", l.product_version);
  append_string_entry(out, "Serial Number", l.serial_number);
  append_string_entry(out, "Target Identifier", l.unique_device_id);
  append_string_entry(out, "Target Type", "Device");
  append_string_entry(out, "Unique Identifier", l.unique_device_id);
  out += "</dict>\n</plist>\n";
  return Bytes(out.begin(), out.end());
}

namespace {

// What Info.plist says, when it parses; a folder without one (or with one we cannot read) is no
// less a backup: nothing is decided by it.
std::optional<LockdownInfo> read_info_plist(const FolderSource& folder) {
  auto bytes = folder.read(kInfoPlistName, kMaxSmallPlistBytes);
  if (!bytes.ok()) return std::nullopt;
  auto root = parse_plist(*bytes, kInfoPlistName);
  if (!root.ok() || plist_get_node_type(root->get()) != PLIST_DICT) return std::nullopt;
  LockdownInfo l;
  auto get = [&](const char* key, std::string& out) {
    plist_t node = plist_dict_get_item(root->get(), key);
    if (node == nullptr || plist_get_node_type(node) != PLIST_STRING) return;
    // Text that is not UTF-8 (or holds a NUL) is left out like a missing key.
    auto text = plist_string(node, key);
    if (text.ok()) out = std::string(*text);
  };
  get("Target Identifier", l.unique_device_id);
  get("Product Type", l.product_type);
  get("Product Version", l.product_version);
  get("Build Version", l.build_version);
  get("Device Name", l.device_name);
  get("Serial Number", l.serial_number);
  return l;
}

}  // namespace

// --- Opening ------------------------------------------------------------------------------------

namespace {

// Names copied into blocks that never move, so views of them stay valid as more are added: one
// allocation per 64 KiB of names, where a std::string per name was one per row.
class NameArena {
 public:
  std::string_view keep(std::string_view name) {
    if (name.size() > left_) {
      const size_t n = std::max(name.size(), kBlockBytes);
      blocks_.push_back(std::make_unique_for_overwrite<char[]>(n));
      next_ = blocks_.back().get();
      left_ = n;
    }
    std::copy(name.begin(), name.end(), next_);
    const std::string_view kept(next_, name.size());
    next_ += name.size();
    left_ -= name.size();
    return kept;
  }

 private:
  static constexpr size_t kBlockBytes = 64 << 10;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  size_t left_ = 0;
};

}  // namespace

struct OpenedBackup::State {
  const FolderSource* folder = nullptr;
  Manifest manifest;
  std::optional<LockdownInfo> info;
  BackupStatus status;
  Keybag bag;
  UnlockedKeybag keys;
  SecretBytes password_key;
  std::vector<BackupFileEntry> files;
  // decode_records: each file's EncryptionKey, parallel to files. Otherwise each row's MBFile
  // bytes, back to back in one buffer (no allocation per row), decoded when a file is read.
  std::vector<std::optional<FileEncryptionKey>> file_keys;
  Bytes records;
  std::vector<std::pair<size_t, size_t>> record_spans;  // offset and size in records
  NameArena names;                                      // every entry's domain and path
  FileDigestIndex by_file_id;  // the reader's own table: row ordinal = position in files
  ArchiveLimits archive_limits;

  Result<MBFile> record(size_t i) const;
  Result<std::optional<FileEncryptionKey>> file_key(size_t i) const;
  // The file's own key, unwrapped under its class key; `what` names the file in errors.
  Result<SecretBytes> unwrap_file_key(const FileEncryptionKey& fk, const std::string& what) const;
};

namespace {

std::string row_name(size_t i, std::string_view file_id) {
  return "Manifest.db: Files row " + std::to_string(i + 1) + " (fileID " + std::string(file_id) +
         ")";
}

}  // namespace

// A record is checked in full the first time it is needed, with the error open() would have
// given: the row and the field ("Manifest.db: Files row 3 (fileID ...): file: MBFile: Size: ...").
Result<MBFile> OpenedBackup::State::record(size_t i) const {
  KCB_ASSERT(i < record_spans.size());
  const auto [offset, size] = record_spans[i];
  auto mb = decode_mbfile(ByteView(records).subspan(offset, size));
  if (!mb.ok()) return mb.status().with_context(row_name(i, files[i].file_id()) + ": file");
  return mb;
}

Result<std::optional<FileEncryptionKey>> OpenedBackup::State::file_key(size_t i) const {
  if (!file_keys.empty()) return file_keys[i];
  KCB_ASSIGN_OR_RETURN(MBFile mb, record(i));
  return std::move(mb.encryption_key);
}

OpenedBackup::OpenedBackup(std::unique_ptr<State> state) : state_(std::move(state)) {}
OpenedBackup::OpenedBackup(OpenedBackup&&) noexcept = default;
OpenedBackup& OpenedBackup::operator=(OpenedBackup&&) noexcept = default;
OpenedBackup::~OpenedBackup() = default;

const Manifest& OpenedBackup::manifest() const {
  return state_->manifest;
}
const std::optional<LockdownInfo>& OpenedBackup::info() const {
  return state_->info;
}
const BackupStatus& OpenedBackup::status() const {
  return state_->status;
}
const std::vector<BackupFileEntry>& OpenedBackup::files() const {
  return state_->files;
}
const SecretBytes& OpenedBackup::password_key() const {
  return state_->password_key;
}
const UnlockedKeybag& OpenedBackup::keys() const {
  return state_->keys;
}
std::string OpenedBackup::keybag_uuid() const {
  return uuid_text(state_->bag.uuid);
}

const BackupFileEntry* OpenedBackup::find(std::string_view domain,
                                          std::string_view relative_path) const {
  const std::optional<size_t> i = state_->by_file_id.find(file_digest_of(domain, relative_path));
  if (!i) return nullptr;
  return &state_->files[*i];
}

Result<FileRecordFacts> OpenedBackup::record(const BackupFileEntry& e) const {
  const size_t i = index_of(e);
  if (e.record_decoded) return FileRecordFacts{e.size, e.protection_class, e.has_encryption_key};
  KCB_ASSIGN_OR_RETURN(MBFile mb, state_->record(i));
  return FileRecordFacts{mb.size, mb.protection_class, mb.encryption_key.has_value()};
}

size_t OpenedBackup::index_of(const BackupFileEntry& e) const {
  // Entries are handed out by files() and find() only: an entry of this backup sits in its vector.
  KCB_ASSERT(!state_->files.empty() && &e >= &state_->files.front() && &e <= &state_->files.back());
  return static_cast<size_t>(&e - state_->files.data());
}

std::vector<BackupClassState> OpenedBackup::classes() const {
  std::vector<BackupClassState> out;
  for (const KeybagClass& c : state_->bag.classes) {
    BackupClassState s{c.class_number, c.wrap, state_->keys.is_unlocked(c.class_number), ""};
    if (!s.unlocked) s.locked_reason = "needs the source device's key (--device)";
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

void report(const BackupOpenOptions& o, std::string_view stage, size_t done, size_t total) {
  if (o.progress) o.progress(stage, done, total);
}

Result<Bytes> read_required(const FolderSource& folder, const char* name, size_t max_bytes,
                            std::string_view why) {
  auto bytes = folder.read(name, max_bytes);
  if (bytes.status().code() == Code::kNotFound) return Status::Corruption(missing(name, why));
  return bytes;
}

// The backup bag, checked against the Manifest: type, and no keychain class wrapped by a password
// alone in a backup that says it is not encrypted (formats.md: only classes 1-4 are, there).
Result<Keybag> parse_backup_keybag(const Manifest& m, const KeybagLimits& limits) {
  auto bag = parse_keybag(m.backup_keybag, limits);
  if (!bag.ok()) return bag.status().with_context("Manifest.plist: BackupKeyBag");
  if (bag->type() != static_cast<uint32_t>(KeybagType::kBackup)) {
    return Status::Corruption("Manifest.plist: BackupKeyBag: TYPE " + std::to_string(bag->type()) +
                              " is not a backup keybag (1)");
  }
  for (const KeybagClass& c : bag->classes) {
    if (!m.is_encrypted && c.class_number >= 5 && c.wrap == kWrapPassword) {
      return Status::Corruption("Manifest.plist: IsEncrypted is false, but BackupKeyBag class " +
                                std::to_string(c.class_number) +
                                " is wrapped by a password alone (WRAP 2)");
    }
  }
  return std::move(bag).value();
}

Result<SecretBytes> password_key_for(const Keybag& bag, const Manifest& m,
                                     const BackupOpenOptions& o) {
  if (o.password_key) {
    if (o.password_key->size() != kClassKeySize) {
      return Status::InvalidArgument("backup key: " + std::to_string(o.password_key->size()) +
                                     " bytes, expected 32");
    }
    return SecretBytes(o.password_key->view());
  }
  if (m.is_encrypted && o.password.empty()) {
    return Status::PermissionDenied("the backup is encrypted: its password is needed");
  }
  // An unencrypted backup's password classes derive from the empty password.
  const ByteView password = m.is_encrypted ? as_bytes(o.password) : ByteView{};
  report(o, "deriving the password key", 0, 1);
  return derive_password_key(bag, password);
}

// Manifest.db's bytes as SQLite sees them: decrypted under the ManifestKey when encrypted.
Result<SecretBytes> manifest_db_plaintext(const FolderSource& folder, const Manifest& m,
                                          const UnlockedKeybag& keys, const BackupOpenOptions& o) {
  auto bytes = folder.read(kManifestDbName, o.max_manifest_db_bytes + 16);
  if (bytes.status().code() == Code::kNotFound) {
    if (folder.read(kManifestMbdbName, 0).status().code() != Code::kNotFound) {
      return Status::Unsupported(
          "Manifest.mbdb: iOS 9 and earlier backups are not supported (this folder has no "
          "Manifest.db)");
    }
    return Status::Corruption(missing(kManifestDbName, "not a backup folder of iOS 10 or later"));
  }
  KCB_RETURN_IF_ERROR(bytes.status());
  if (!m.is_encrypted) return SecretBytes(ByteView(*bytes));
  if (!m.manifest_key) {
    return Status::Corruption("Manifest.plist: ManifestKey: missing in an encrypted backup");
  }
  const Bytes& mk = *m.manifest_key;
  if (mk.size() != kManifestKeyClassBytes + kFileWrappedKeySize) {
    return Status::Corruption("Manifest.plist: ManifestKey: " + std::to_string(mk.size()) +
                              " bytes, expected 44 (class + wrapped key)");
  }
  const uint32_t key_class = read_le32(ByteView(mk).first(4));
  const KeyWrapKey* kek = keys.kek_for(key_class);
  if (kek == nullptr) {
    return Status::Corruption("Manifest.plist: ManifestKey: class " + std::to_string(key_class) +
                              " has no unlocked key in BackupKeyBag");
  }
  auto db_key = aes_key_unwrap(*kek, ByteView(mk).subspan(4));
  if (!db_key.ok()) {
    return Status::Corruption("Manifest.plist: ManifestKey: does not unwrap under class " +
                              std::to_string(key_class) + "'s key (altered)");
  }
  report(o, "decrypting Manifest.db", 0, 1);
  return decrypt_file_blob(db_key->view(), *bytes, kManifestDbName);
}

// One row of the scan into the index: its fileID already checked against its SHA-1 (computed
// once, by the reader) and unique. Its record is decoded now (decode_records) or kept as bytes.
Status add_file(const ManifestRowView& row, const BackupOpenOptions& o, OpenedBackup::State& s) {
  BackupFileEntry e;
  e.file_digest = row.digest;
  // Rows of one domain come together (the writer's order, and Apple's): one copy of it for them.
  e.domain = !s.files.empty() && s.files.back().domain == row.domain ? s.files.back().domain
                                                                     : s.names.keep(row.domain);
  e.relative_path = s.names.keep(row.relative_path);
  e.flags = row.flags;
  if (o.decode_records) {
    auto mb = decode_mbfile(row.file);
    if (!mb.ok()) return mb.status().with_context(row_name(row.row - 1, row.file_id) + ": file");
    e.record_decoded = true;
    e.size = mb->size;
    e.protection_class = mb->protection_class;
    e.has_encryption_key = mb->encryption_key.has_value();
    s.file_keys.push_back(std::move(mb->encryption_key));
  } else {
    s.record_spans.emplace_back(s.records.size(), row.file.size());
    s.records.insert(s.records.end(), row.file.begin(), row.file.end());
  }
  KCB_ASSERT(row.row == s.files.size() + 1);  // one entry per row, in order: by_file_id's ordinals
  s.files.push_back(std::move(e));
  if (s.files.size() % 4096 == 0) report(o, "files", s.files.size(), 0);
  return Status::Ok();
}

}  // namespace

Result<OpenedBackupKeybag> open_backup_keybag(const Manifest& manifest,
                                              const BackupOpenOptions& options) {
  OpenedBackupKeybag out;
  KCB_ASSIGN_OR_RETURN(out.bag, parse_backup_keybag(manifest, options.keybag_limits));
  KCB_ASSIGN_OR_RETURN(out.password_key, password_key_for(out.bag, manifest, options));
  std::optional<ByteView> device_key;
  if (options.device != nullptr) device_key = DeviceInternals::device_key(*options.device);
  KCB_ASSIGN_OR_RETURN(
      out.keys, unlock_keybag_with_password_key(out.bag, out.password_key.view(), device_key));
  return out;
}

Result<OpenedBackup> OpenedBackup::open(const FolderSource& folder,
                                        const BackupOpenOptions& options) {
  auto s = std::make_unique<State>();
  s->folder = &folder;
  s->archive_limits = options.archive_limits;
  KCB_ASSIGN_OR_RETURN(s->manifest, read_folder_manifest(folder));
  KCB_ASSIGN_OR_RETURN(
      Bytes status_bytes,
      read_required(folder, kStatusPlistName, kMaxSmallPlistBytes, "the backup did not finish"));
  KCB_ASSIGN_OR_RETURN(s->status, read_backup_status(status_bytes));
  if (s->status.snapshot_state != "finished") {
    return Status::Corruption("Status.plist: SnapshotState '" +
                              printable_text(s->status.snapshot_state) +
                              "': the backup did not finish");
  }
  if (options.read_info) s->info = read_info_plist(folder);
  KCB_ASSIGN_OR_RETURN(OpenedBackupKeybag opened, open_backup_keybag(s->manifest, options));
  s->bag = std::move(opened.bag);
  s->password_key = std::move(opened.password_key);
  s->keys = std::move(opened.keys);
  KCB_ASSIGN_OR_RETURN(SecretBytes db_bytes,
                       manifest_db_plaintext(folder, s->manifest, s->keys, options));
  ManifestDbLimits limits;
  limits.max_bytes = options.max_manifest_db_bytes;
  limits.max_files = options.max_files;
  report(options, "reading Manifest.db", 0, 1);
  // Records are at most the image's bytes (SQLite stores each once): one allocation, not a
  // doubling series of copies (most of listing a 100k-file folder was that memmove).
  if (!options.decode_records) s->records.reserve(db_bytes.size());
  KCB_RETURN_IF_ERROR(scan_manifest_db(
      std::move(db_bytes), limits,
      [&](const ManifestRowView& row) { return add_file(row, options, *s); }, nullptr,
      &s->by_file_id));
  return OpenedBackup(std::move(s));
}

Result<SecretBytes> OpenedBackup::read_file(const BackupFileEntry& e, size_t max_bytes) const {
  // The names are the folder writer's: shown escaped (a line break cannot forge a message line).
  const std::string what =
      printable_text(std::string(e.domain) + "/" + std::string(e.relative_path));
  if (e.flags != kManifestFile) {
    return Status::InvalidArgument(what + ": not a regular file (flags " + std::to_string(e.flags) +
                                   ")");
  }
  const size_t index = index_of(e);
  // The record is checked before the file is read, even when nothing of it is needed (an
  // unencrypted backup): a file is never handed out from a row open() would have refused.
  KCB_ASSIGN_OR_RETURN(const std::optional<FileEncryptionKey> fk, state_->file_key(index));
  const bool encrypted = state_->manifest.is_encrypted;
  auto blob = state_->folder->read(e.blob_name(), encrypted ? max_bytes + 16 : max_bytes);
  if (blob.status().code() == Code::kNotFound) {
    return Status::Corruption(what + " (fileID " + e.file_id() +
                              "): listed in Manifest.db but missing from the folder");
  }
  KCB_RETURN_IF_ERROR(blob.status());
  if (!encrypted) return SecretBytes(ByteView(*blob));
  if (!fk) {
    return Status::Corruption(what + " (fileID " + e.file_id() +
                              "): no EncryptionKey in an encrypted backup");
  }
  KCB_ASSIGN_OR_RETURN(SecretBytes file_key, state_->unwrap_file_key(*fk, what));
  return decrypt_file_blob(file_key.view(), *blob, what);
}

// A class the bag does not have is a broken record. One it has but these keys cannot open is
// FailedPrecondition, which a restore skips: the classes with the device layer (WRAP 3) open only
// with the source device's key, and that layer has no check of its own, so on another device the
// class key comes out wrong and only the file key's RFC 3394 check notices. A file of such a class
// is then as lost as a ThisDeviceOnly item; refusing the folder over it would lose every item.
Result<SecretBytes> OpenedBackup::State::unwrap_file_key(const FileEncryptionKey& fk,
                                                         const std::string& what) const {
  const std::string name = "protection class " + std::to_string(fk.protection_class);
  const KeybagClass* c = bag.find_class(fk.protection_class);
  if (c == nullptr) return Status::Corruption(what + ": " + name + " is not in BackupKeyBag");
  const KeyWrapKey* kek = keys.kek_for(fk.protection_class);
  if (kek == nullptr) {
    return Status::FailedPrecondition(what + ": " + name +
                                      " is locked: it needs the source device's key (--device)");
  }
  auto file_key = aes_key_unwrap(*kek, fk.wrapped_key);
  if (file_key.ok()) return file_key;
  if (c->wrap & kWrapDevice) {
    return Status::FailedPrecondition(
        what + ": EncryptionKey does not unwrap under " + name +
        "'s key, which is bound to the source device (WRAP 3): this is another device, or the key "
        "was altered");
  }
  return Status::Corruption(what + ": EncryptionKey does not unwrap under " + name + "'s key");
}

Result<KeychainArchive> OpenedBackup::read_keychain() const {
  const BackupFileEntry* e = find(kKeychainDomain, kKeychainRelativePath);
  if (e == nullptr) {
    return Status::Corruption(
        "Manifest.db: no KeychainDomain/keychain-backup.plist: the backup "
        "holds no keychain");
  }
  KCB_ASSIGN_OR_RETURN(SecretBytes plist, read_file(*e, kMaxPlistBytes));
  return read_keychain_archive(plist.view(), state_->archive_limits);
}

Result<BackupFolder> with_keychain_file(const BackupFolder& folder, ByteView keychain,
                                        const BackupOpenOptions& options) {
  KCB_ASSIGN_OR_RETURN(OpenedBackup backup, OpenedBackup::open(folder, options));
  const BackupFileEntry* e = backup.find(kKeychainDomain, kKeychainRelativePath);
  if (e == nullptr)
    return Status::Corruption("Manifest.db: no KeychainDomain/keychain-backup.plist");
  BackupFolder out = folder;
  Bytes& blob = out.files[e->blob_name()];
  if (!backup.manifest().is_encrypted) {
    blob.assign(keychain.begin(), keychain.end());
    return out;
  }
  const OpenedBackup::State& s = *backup.state_;
  KCB_ASSIGN_OR_RETURN(const std::optional<FileEncryptionKey> fk, s.file_key(backup.index_of(*e)));
  if (!fk) return Status::Corruption("keychain-backup.plist: no EncryptionKey");
  KCB_ASSIGN_OR_RETURN(SecretBytes file_key, s.unwrap_file_key(*fk, "keychain-backup.plist"));
  KCB_ASSIGN_OR_RETURN(blob, encrypt_file_blob(file_key.view(), keychain));
  return out;
}

// --- Writing --------------------------------------------------------------------------------

namespace {

constexpr uint32_t kManifestKeyClass = 4;   // what real backups use for ManifestKey
constexpr uint32_t kKeychainFileClass = 1;  // the keychain file's ProtectionClass (formats.md)
constexpr uint32_t kRegularFileMode = 0100644;
constexpr uint32_t kFolderMode = 040755;
constexpr uint32_t kMobileUser = 501;  // files on an iPhone belong to `mobile`

Bytes le32(uint32_t v) {
  return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 24)};
}

// A fresh 32-byte key wrapped under `class_number`'s key: 4-byte LE class + 40-byte wrap.
Result<std::pair<SecretBytes, FileEncryptionKey>> new_file_key(const NewKeybag& bag,
                                                               uint32_t class_number,
                                                               Random& random) {
  const KeyWrapKey* kek = bag.keys.kek_for(class_number);
  if (kek == nullptr) {
    return Status::InvalidArgument("protection class " + std::to_string(class_number) +
                                   " has no key in the backup keybag");
  }
  SecretBytes key(kFileKeySize);
  random.fill(key.span());
  KCB_ASSIGN_OR_RETURN(Bytes wrapped, aes_key_wrap(*kek, key.view()));
  return std::pair{std::move(key), FileEncryptionKey{class_number, std::move(wrapped)}};
}

class FolderBuilder {
 public:
  FolderBuilder(const NewKeybag& bag, bool encrypted, Random& random)
      : bag_(bag), encrypted_(encrypted), random_(random), now_(random.now_unix_seconds()) {}

  Status add_file(const std::string& domain, const std::string& path, uint32_t protection_class,
                  ByteView plaintext) {
    if (!is_valid_utf8(domain) || !is_valid_utf8(path)) {
      return Status::InvalidArgument("backup: a file's domain or path is not UTF-8");
    }
    KCB_RETURN_IF_ERROR(add_parent_folders(domain, path));
    MBFile mb = record(path, kRegularFileMode, protection_class);
    mb.size = plaintext.size();
    Bytes blob;  // the plaintext copied only when it is what the folder stores
    if (encrypted_) {
      KCB_ASSIGN_OR_RETURN(auto key, new_file_key(bag_, protection_class, random_));
      KCB_ASSIGN_OR_RETURN(blob, encrypt_file_blob(key.first.view(), plaintext));
      mb.encryption_key = std::move(key.second);
    } else {
      blob.assign(plaintext.begin(), plaintext.end());
    }
    const std::string id = file_id_of(domain, path);
    db_.files.push_back({domain, path, kManifestFile, encode_mbfile(mb)});
    folder_.files[id.substr(0, 2) + "/" + id] = std::move(blob);
    return Status::Ok();
  }

  // Manifest.db (encrypted under a ManifestKey when the backup is), Manifest.plist, Status.plist
  // and Info.plist around the files added so far.
  Result<BackupFolder> finish(Manifest manifest) {
    // An encrypted backup's database is sealed straight from SQLite's image: its plaintext is
    // never copied.
    auto seal = [&](ByteView image) -> Result<Bytes> {
      KCB_ASSIGN_OR_RETURN(auto key, new_file_key(bag_, kManifestKeyClass, random_));
      Bytes mk = le32(kManifestKeyClass);
      mk.insert(mk.end(), key.second.wrapped_key.begin(), key.second.wrapped_key.end());
      manifest.manifest_key = std::move(mk);
      return encrypt_file_blob(key.first.view(), image);
    };
    KCB_ASSIGN_OR_RETURN(Bytes db,
                         encrypted_ ? write_manifest_db(db_, seal) : write_manifest_db(db_));
    manifest.backup_keybag = serialize_keybag(bag_.bag);
    manifest.date = now_;
    BackupStatus status;
    status.date = now_;
    Bytes uuid(16);
    random_.fill(uuid);
    status.uuid = uuid_text(uuid);
    folder_.files[kManifestDbName] = std::move(db);
    folder_.files[kInfoPlistName] = write_info_plist(manifest.lockdown, now_);
    folder_.files[kStatusPlistName] = write_backup_status(status);
    folder_.files[kManifestPlistName] = write_manifest(manifest);
    return std::move(folder_);
  }

 private:
  MBFile record(const std::string& path, uint32_t mode, uint32_t protection_class) {
    MBFile mb;
    mb.relative_path = path;
    mb.mode = mode;
    mb.user_id = kMobileUser;
    mb.group_id = kMobileUser;
    mb.inode_number = ++inode_;
    mb.birth = mb.last_modified = mb.last_status_change = now_;
    mb.protection_class = protection_class;
    return mb;
  }

  // Real folders list each domain's root ("") and every folder on the way to a file (flags 2).
  Status add_parent_folders(const std::string& domain, const std::string& path) {
    size_t end = 0;
    while (true) {
      const std::string folder = path.substr(0, end);
      if (folders_.insert(domain + "-" + folder).second) {
        db_.files.push_back(
            {domain, folder, kManifestDirectory, encode_mbfile(record(folder, kFolderMode, 0))});
      }
      end = path.find('/', end == 0 ? 0 : end + 1);
      if (end == std::string::npos) return Status::Ok();
    }
  }

  const NewKeybag& bag_;
  bool encrypted_;
  Random& random_;
  int64_t now_;
  uint64_t inode_ = 0;
  std::set<std::string> folders_;
  ManifestDb db_;
  BackupFolder folder_;
};

}  // namespace

Result<BackupFolder> build_backup_folder(FolderContents contents, const NewKeybag& bag,
                                         Random& random) {
  FolderBuilder builder(bag, contents.manifest.is_encrypted, random);
  KCB_RETURN_IF_ERROR(builder.add_file(std::string(kKeychainDomain),
                                       std::string(kKeychainRelativePath), kKeychainFileClass,
                                       contents.keychain));
  for (const AppFile& f : contents.app_files) {
    KCB_RETURN_IF_ERROR(
        builder.add_file(f.domain, f.relative_path, f.protection_class, f.contents));
  }
  return builder.finish(std::move(contents.manifest));
}

}  // namespace kcb
