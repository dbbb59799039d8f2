// The app files a simulated device carries (`kcbackup device put`): what a backup holds besides
// the keychain. On disk they are one binary property list, DIR/app-files.plist:
//
//   [ {Domain: string, RelativePath: string, ProtectionClass: integer 1-11, Data: data}, ... ]
//
// kept sorted by (domain, path) with no two entries naming the same file, so a listing, a backup
// and the bytes of the file itself are a pure function of the files put. The file is written
// atomically through the device's Env (a crash leaves the old list or the new one) while the
// device's exclusive folder lock is held, so a put's read-modify-write is one step for everyone.
// It is read back as hostile input (someone may have edited the folder): size and count capped,
// every field type-checked, every error naming the entry and the field.
#include <algorithm>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/binary_plist_writer.h"
#include "input/property_list.h"
#include "kcbackup/device.h"
#include "kcbackup/utf8.h"

namespace kcb {
namespace {

constexpr const char* kAppFilesName = "app-files.plist";
// A simulated device holds test fixtures, not a phone's photo library: the whole list, as written
// and as read, stays under this many bytes and entries. put refuses to grow past them, so a list
// put writes is always one that open reads.
constexpr size_t kMaxAppFilesBytes = size_t{256} << 20;
constexpr size_t kMaxAppFiles = 100'000;
// Apple's protection classes: 1 Complete ... 4 None, and the keychain's 5-11 (formats.md).
constexpr uint32_t kMinProtectionClass = 1;
constexpr uint32_t kMaxProtectionClass = 11;

bool by_name(const AppFile& a, const AppFile& b) {
  return std::tie(a.domain, a.relative_path) < std::tie(b.domain, b.relative_path);
}

bool same_name(const AppFile& a, const AppFile& b) {
  return a.domain == b.domain && a.relative_path == b.relative_path;
}

// What a domain or a path may be: non-empty UTF-8 without NUL (Manifest.db keeps them as SQLite
// text, the file ID hashes them).
Status check_text(std::string_view text, std::string_view field) {
  if (text.empty()) return Status::InvalidArgument(std::string(field) + " is empty");
  if (!is_valid_utf8(text)) return Status::InvalidArgument(std::string(field) + " is not UTF-8");
  if (text.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(field) + " contains a NUL byte");
  }
  return Status::Ok();
}

// The rules of device.h: a relative path that stays inside its domain ("Documents/x"), so a
// reader that unpacks a backup onto a disk never writes outside the folder it chose.
Status check_app_file(const AppFile& f) {
  KCB_RETURN_IF_ERROR(check_text(f.domain, "domain"));
  KCB_RETURN_IF_ERROR(check_text(f.relative_path, "path"));
  const std::string shown = "path '" + printable_text(f.relative_path) + "'";
  if (f.relative_path.front() == '/') {
    return Status::InvalidArgument(shown + " starts with '/'; give it relative to the domain");
  }
  std::string_view rest = f.relative_path;
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part == "..") return Status::InvalidArgument(shown + " has a '..' component");
    if (part.empty()) return Status::InvalidArgument(shown + " has an empty component");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (f.protection_class < kMinProtectionClass || f.protection_class > kMaxProtectionClass) {
    return Status::InvalidArgument("protection class " + std::to_string(f.protection_class) +
                                   " is outside " + std::to_string(kMinProtectionClass) + "-" +
                                   std::to_string(kMaxProtectionClass));
  }
  return Status::Ok();
}

Bytes write_app_files(const std::vector<AppFile>& files) {
  BinaryPlistWriter w;
  using Ref = BinaryPlistWriter::Ref;
  const Ref domain_key = w.string("Domain");
  const Ref path_key = w.string("RelativePath");
  const Ref class_key = w.string("ProtectionClass");
  const Ref data_key = w.string("Data");
  std::vector<Ref> entries;
  entries.reserve(files.size());
  for (const AppFile& f : files) {
    const std::pair<Ref, Ref> fields[] = {{domain_key, w.string(f.domain)},
                                          {path_key, w.string(f.relative_path)},
                                          {class_key, w.integer(f.protection_class)},
                                          {data_key, w.data(f.contents)}};
    entries.push_back(w.dict(fields));
  }
  return w.finish(w.array(entries));
}

Result<std::string> read_text(plist_t entry, const char* key, const std::string& where) {
  const std::string path = where + "." + key;
  plist_t node = plist_dict_get_item(entry, key);
  if (node == nullptr) return Status::Corruption(path + ": missing");
  KCB_ASSIGN_OR_RETURN(std::string_view text, plist_string(node, path));
  return std::string(text);
}

Result<AppFile> read_entry(plist_t entry, const std::string& where) {
  KCB_RETURN_IF_ERROR(expect_plist_type(entry, PLIST_DICT, where));
  AppFile f;
  KCB_ASSIGN_OR_RETURN(f.domain, read_text(entry, "Domain", where));
  KCB_ASSIGN_OR_RETURN(f.relative_path, read_text(entry, "RelativePath", where));
  plist_t cls = plist_dict_get_item(entry, "ProtectionClass");
  if (cls == nullptr) return Status::Corruption(where + ".ProtectionClass: missing");
  KCB_RETURN_IF_ERROR(expect_plist_type(cls, PLIST_UINT, where + ".ProtectionClass"));
  uint64_t value = 0;
  plist_get_uint_val(cls, &value);
  // libplist hands a negative 8-byte integer over as its unsigned bits: out of range either way.
  if (value > kMaxProtectionClass) {
    return Status::Corruption(where + ".ProtectionClass: " + std::to_string(value) +
                              " is outside 1-11");
  }
  f.protection_class = static_cast<uint32_t>(value);
  plist_t data = plist_dict_get_item(entry, "Data");
  if (data == nullptr) return Status::Corruption(where + ".Data: missing");
  KCB_ASSIGN_OR_RETURN(ByteView contents, plist_data(data, where + ".Data"));
  f.contents.assign(contents.begin(), contents.end());
  // The put rules again: a folder edited by hand gets the same answer a put would have.
  const Status valid = check_app_file(f);
  if (!valid.ok()) return Status::Corruption(where + ": " + valid.message());
  return f;
}

Result<std::vector<AppFile>> read_app_files(ByteView bytes) {
  KCB_ASSIGN_OR_RETURN(PlistPtr root, parse_plist(bytes, kAppFilesName));
  std::vector<AppFile> files;
  KCB_RETURN_IF_ERROR(
      for_each_plist_item(root.get(), kAppFilesName, [&](size_t index, plist_t entry) -> Status {
        if (files.size() == kMaxAppFiles) {
          return Status::ResourceExhausted(std::string(kAppFilesName) + ": more than " +
                                           std::to_string(kMaxAppFiles) + " files");
        }
        KCB_ASSIGN_OR_RETURN(AppFile f, read_entry(entry, std::string(kAppFilesName) + ": [" +
                                                              std::to_string(index) + "]"));
        files.push_back(std::move(f));
        return Status::Ok();
      }));
  // The writer keeps them sorted; a hand-edited list is sorted here, and a file named twice is
  // refused rather than one of the two silently winning.
  std::stable_sort(files.begin(), files.end(), by_name);
  const auto twice = std::adjacent_find(files.begin(), files.end(), same_name);
  if (twice != files.end()) {
    return Status::Corruption(std::string(kAppFilesName) + ": the file '" +
                              printable_text(twice->domain) + "' / '" +
                              printable_text(twice->relative_path) + "' is listed twice");
  }
  return files;
}

}  // namespace

Result<std::vector<AppFile>> Device::app_files() const {
  if (!dir_) return memory_app_files_;
  const std::filesystem::path path = *dir_ / kAppFilesName;
  // A device that was never given a file has no list (and folders made before app files).
  if (env_->kind_of(path) == FileKind::kMissing) return std::vector<AppFile>();
  KCB_ASSIGN_OR_RETURN(Bytes bytes, env_->read_file(path, kMaxAppFilesBytes));
  auto files = read_app_files(bytes);
  if (!files.ok()) return files.status().with_context(dir_->string());
  return files;
}

Status Device::put_app_file(AppFile file) {
  KCB_RETURN_IF_ERROR(check_app_file(file));
  KCB_RETURN_IF_ERROR(check_writable());
  std::vector<AppFile> loaded;
  if (dir_) {
    KCB_ASSIGN_OR_RETURN(loaded, app_files());
  }
  std::vector<AppFile>& files = dir_ ? loaded : memory_app_files_;
  // Sorted, so finding the name and keeping the order is a binary search: a device given many
  // files in memory (benchmarks, properties) costs no quadratic scan.
  const auto at = std::lower_bound(files.begin(), files.end(), file, by_name);
  if (at != files.end() && same_name(*at, file)) {
    *at = std::move(file);
  } else if (files.size() == kMaxAppFiles) {
    return Status::ResourceExhausted("the device holds " + std::to_string(kMaxAppFiles) +
                                     " app files already, the most it keeps");
  } else {
    files.insert(at, std::move(file));
  }
  if (!dir_) return Status::Ok();
  const Bytes bytes = write_app_files(files);
  // Checked on the bytes themselves: a list put writes is always one app_files() reads.
  if (bytes.size() > kMaxAppFilesBytes) {
    return Status::ResourceExhausted("the device's app files would take " +
                                     std::to_string(bytes.size()) + " bytes, more than the " +
                                     std::to_string(kMaxAppFilesBytes) + " it keeps");
  }
  return write_file_atomically(*env_, *dir_ / kAppFilesName, bytes);
}

Status Device::remove_app_files() {
  if (!dir_) {
    memory_app_files_.clear();
    return Status::Ok();
  }
  const std::filesystem::path path = *dir_ / kAppFilesName;
  if (env_->kind_of(path) == FileKind::kMissing) return Status::Ok();
  if (read_only_)
    return Status::FailedPrecondition("erase: the device folder was opened read-only");
  KCB_RETURN_IF_ERROR(env_->remove(path));
  return env_->sync_dir(*dir_);
}

}  // namespace kcb
