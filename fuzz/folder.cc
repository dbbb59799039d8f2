// Fuzz target folder: a whole backup folder (fuzz/folder_input.h: Manifest.plist with its keybag
// and ManifestKey, Manifest.db, Status.plist, Info.plist, the keychain blob and app file blobs, as
// found) restored by restore_backup onto the fixed device of fuzz/restore_target.h, with the fixed
// password (or none, by one input bit) and KDF caps of 16 rounds. After every input:
//   - restore_backup failed: the target's rows are exactly what they were (and it has no app
//     files: restore never writes any), and the
//     error is one a hostile folder may cause (not IOError or Internal-like codes) with a message
//     that is non-empty and has no control character (hostile names go to a terminal);
//   - it succeeded: the folder is finished (Status.plist), an encrypted one was given the password,
//     it opens with the same options, every listed regular file reads (or its class stays locked),
//     and the report agrees with its keychain and the target (fuzz/restore_checks.h: R7, R8, R12,
//     R13, every row readable, every restored item listed).
// The target is then put back to its snapshot. KCB_FOLDER_VERDICTS=FILE appends one line per
// input (a hash of the input and the verdict), to check that the replay binary and libFuzzer agree.
//
// LLVMFuzzerCustomMutator picks one file and mutates it structurally: it unlocks the keybag with
// the fixed password and the target's device key as the restore will, unwraps the ManifestKey and
// the picked file's own key (from its Manifest.db row), decrypts, changes the plaintext
// (Manifest.db rows and MBFile fields through the engine's writers, the keychain archive's items
// and keybag-uuid, app file bytes) and re-encrypts under the same key; or it flips raw ciphertext
// bytes, or changes the container (a file dropped, copied, renamed; the target bits).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/crypto.h"
#include "engine/device_internals.h"
#include "engine/file_crypto.h"
#include "engine/keybag.h"
#include "engine/keychain_store.h"
#include "engine/manifest_db.h"
#include "engine/mbfile.h"
#include "fuzz/fixed_keys.h"
#include "fuzz/folder_input.h"
#include "fuzz/restore_checks.h"
#include "fuzz/restore_mutator.h"
#include "fuzz/restore_target.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"

namespace kcb::fuzz {
namespace {

bool printable(std::string_view msg) {
  return std::none_of(msg.begin(), msg.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

// What a hostile folder may make restore_backup return. IOError would mean the in-memory folder or
// store failed, AlreadyExists or CheckFailed a refusal that escaped the per-item handling.
bool expected_refusal(Code code) {
  switch (code) {
    case Code::kCorruption:
    case Code::kDataLoss:
    case Code::kUnsupported:
    case Code::kPermissionDenied:
    case Code::kResourceExhausted:
    case Code::kInvalidArgument:
    case Code::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

uint64_t fnv1a(ByteView bytes) {
  uint64_t h = 0xcbf29ce484222325u;
  for (uint8_t b : bytes)
    h = (h ^ b) * 0x100000001b3u;
  return h;
}

// KCB_FOLDER_VERDICTS, opened once (nullptr when unset).
std::FILE* verdict_log() {
  static std::FILE* log = [] {
    const char* path = std::getenv("KCB_FOLDER_VERDICTS");
    return path != nullptr ? std::fopen(path, "a") : nullptr;
  }();
  return log;
}

void log_verdict(ByteView input, const std::string& verdict) {
  std::FILE* log = verdict_log();
  if (log == nullptr) return;
  std::fprintf(log, "%016llx %s\n", static_cast<unsigned long long>(fnv1a(input)), verdict.c_str());
  std::fflush(log);
}

BackupOpenOptions open_options(const RestoreOptions& r, const Device& target) {
  BackupOpenOptions o;
  o.password = r.password;
  o.device = &target;
  o.keybag_limits = r.keybag_limits;
  return o;
}

// A successful restore read a finished folder whose every listed file decrypts.
void check_folder_after_success(const BackupFolder& folder, const RestoreOptions& options,
                                const FixedTarget& target, const RestoreReport& report,
                                const std::vector<KeychainRow>& rows) {
  auto status_file = folder.read(kStatusPlistName, 1 << 20);
  KCB_ASSERT(status_file.ok());
  auto status = read_backup_status(*status_file);
  KCB_ASSERT(status.ok() && status->snapshot_state == "finished");
  auto backup = OpenedBackup::open(folder, open_options(options, *target.device));
  KCB_ASSERT(backup.ok());
  KCB_ASSERT(!backup->manifest().is_encrypted || !options.password.empty());
  for (const BackupFileEntry& e : backup->files()) {
    if (e.flags != kManifestFile) continue;
    auto contents = backup->read_file(e, size_t{1} << 30);
    KCB_ASSERT(contents.ok() || contents.status().code() == Code::kFailedPrecondition);
  }
  auto archive = backup->read_keychain();
  KCB_ASSERT(archive.ok());
  check_success(report, *archive, target, rows);
}

std::string success_verdict(const RestoreReport& report) {
  return "ok restored=" + std::to_string(report.restored_count()) +
         " kept=" + std::to_string(report.kept_count()) +
         " items=" + std::to_string(report.items.size()) +
         " replaced=" + std::to_string(report.replaced) +
         " warnings=" + std::to_string(report.warnings.size());
}

void run_folder(ByteView input, const FolderInput& in) {
  FixedTarget& target = fixed_target((in.target & kTargetWithoutPasscode) == 0);
  BackupFolder folder;
  folder.files = in.files;
  const RestoreOptions options = restore_options((in.target & kRestoreWithoutPassword) == 0);
  auto random = make_seeded_random(kSeed);
  auto report = restore_backup(folder, *target.device, options, *random);
  auto rows = DeviceInternals::store(*target.device).list_all();
  KCB_ASSERT(rows.ok());
  auto apps = target.device->app_files();
  KCB_ASSERT(apps.ok() && apps->empty());  // the target has none, and restore never writes any
  if (!report.ok()) {
    KCB_ASSERT(*rows == target.snapshot);  // an error changes nothing
    const Status& st = report.status();
    if (!expected_refusal(st.code()) || st.message().empty() || !printable(st.message())) {
      std::fprintf(stderr, "folder: refused with %s: %s\n",
                   std::string(code_name(st.code())).c_str(), st.message().c_str());
    }
    KCB_ASSERT(expected_refusal(st.code()));
    KCB_ASSERT(!st.message().empty() && printable(st.message()));
    log_verdict(input, std::string(code_name(st.code())) + ": " + st.message());
    return;
  }
  check_folder_after_success(folder, options, target, *report, *rows);
  log_verdict(input, success_verdict(*report));
  reset(target);
}

// ---- The custom mutator ----

constexpr std::string_view kKeychainBlob = "51/51a4616e576dd33cd2abadfea874eb8ff246bf0e";

// The keys the mutator needs to get past a folder's crypto, found as the restore finds them (the
// fixed password, the fixed target's device key, KDF caps of 16); what it cannot open stays empty.
struct FolderKeys {
  bool encrypted = false;
  UnlockedKeybag bag;
  std::optional<SecretBytes> db_key;  // Manifest.db's, encrypted folders only
};

std::optional<Manifest> manifest_of(const FolderInput& in) {
  auto it = in.files.find(kManifestPlistName);
  if (it == in.files.end()) return std::nullopt;
  auto m = read_manifest(it->second);
  if (!m.ok()) return std::nullopt;
  return std::move(m).value();
}

std::optional<SecretBytes> unwrap_under(const UnlockedKeybag& bag, uint32_t cls, ByteView wrapped) {
  const SecretBytes* kek = bag.key_for(cls);
  if (kek == nullptr) return std::nullopt;
  auto key = aes_key_unwrap(kek->view(), wrapped);
  if (!key.ok()) return std::nullopt;
  return std::move(key).value();
}

std::optional<FolderKeys> folder_keys(const FolderInput& in) {
  auto manifest = manifest_of(in);
  if (!manifest) return std::nullopt;
  auto bag = parse_keybag(manifest->backup_keybag, restore_options(true).keybag_limits);
  if (!bag.ok()) return std::nullopt;
  const ByteView password = manifest->is_encrypted ? ByteView(kPassword) : ByteView{};
  const Device& device = *fixed_target(true).device;
  auto unlocked = unlock_keybag(*bag, password, DeviceInternals::device_key(device));
  if (!unlocked.ok()) return std::nullopt;
  FolderKeys keys{manifest->is_encrypted, std::move(unlocked).value(), std::nullopt};
  if (keys.encrypted && manifest->manifest_key && manifest->manifest_key->size() == 44) {
    const Bytes& mk = *manifest->manifest_key;
    keys.db_key = unwrap_under(keys.bag, load_le32(mk.data()), ByteView(mk).subspan(4));
  }
  return keys;
}

// Manifest.db's plaintext image; nothing when the mutator cannot decrypt it.
std::optional<Bytes> db_image(const FolderInput& in, const FolderKeys& keys) {
  auto it = in.files.find(kManifestDbName);
  if (it == in.files.end()) return std::nullopt;
  if (!keys.encrypted) return it->second;
  if (!keys.db_key) return std::nullopt;
  auto plain = decrypt_file_blob(keys.db_key->view(), it->second, kManifestDbName);
  if (!plain.ok()) return std::nullopt;
  return Bytes(plain->view().begin(), plain->view().end());
}

// The key of blob `name` from its Manifest.db row: nothing when it is not encrypted (or unknown).
std::optional<SecretBytes> file_key(const Bytes& image, std::string_view name,
                                    const FolderKeys& keys) {
  auto db = read_manifest_db(image);
  if (!db.ok()) return std::nullopt;
  for (const ManifestFile& f : db->files) {
    const std::string id = file_id_of(f.domain, f.relative_path);
    if (name.size() != 43 || name.substr(3) != id) continue;
    auto mb = decode_mbfile(f.file);
    if (!mb.ok() || !mb->encryption_key) return std::nullopt;
    return unwrap_under(keys.bag, mb->encryption_key->protection_class,
                        mb->encryption_key->wrapped_key);
  }
  return std::nullopt;
}

// Replaces file `name`'s plaintext through `change`, re-encrypted under the same key. False when
// the mutator cannot get past its crypto (then nothing changed).
template <typename Change>
bool change_plaintext(FolderInput& in, const std::string& name, const FolderKeys& keys,
                      Change change) {
  auto it = in.files.find(name);
  if (it == in.files.end()) return false;
  if (!keys.encrypted) {
    change(it->second);
    return true;
  }
  std::optional<SecretBytes> key;
  if (name == kManifestDbName) {
    key = keys.db_key;
  } else if (auto image = db_image(in, keys)) {
    key = file_key(*image, name, keys);
  }
  if (!key) return false;
  auto plain = decrypt_file_blob(key->view(), it->second, name);
  if (!plain.ok()) return false;
  Bytes bytes(plain->view().begin(), plain->view().end());
  change(bytes);
  auto sealed = encrypt_file_blob(key->view(), bytes);
  wipe(bytes);
  if (!sealed.ok()) return false;
  it->second = std::move(sealed).value();
  return true;
}

// The crypto layer itself: bad padding, partial blocks, garbage.
void mutate_ciphertext(Bytes& blob, Dice& dice) {
  switch (dice.below(4)) {
    case 0:  // one byte anywhere (CBC: that block garbled, the next one's byte flipped)
      if (!blob.empty()) blob[dice.below(blob.size())] ^= static_cast<uint8_t>(1 + dice.below(255));
      break;
    case 1:  // the last block: the padding
      if (blob.size() >= 16)
        blob[blob.size() - 1 - dice.below(16)] ^= static_cast<uint8_t>(1 + dice.below(255));
      break;
    case 2:  // truncated, to a block boundary or not
      blob.resize(dice.one_in(2) ? blob.size() / 16 / 2 * 16 : dice.below(blob.size() + 1));
      break;
    default:
      mutate_bytes(blob, 64);
      break;
  }
}

void mutate_text(std::string& text, Dice& dice) {
  if (dice.one_in(3)) {
    text += "/x";
  } else if (!text.empty()) {
    text[dice.below(text.size())] = "aZ0-/._\n"[dice.below(8)];
  } else {
    text = "x";
  }
}

void mutate_mbfile(Bytes& record, Dice& dice) {
  auto mb = decode_mbfile(record);
  if (!mb.ok() || dice.one_in(4)) {
    mutate_bytes(record, 64);
    return;
  }
  switch (dice.below(6)) {
    case 0:
      mb->protection_class = interesting_u32(dice);
      break;
    case 1:
      if (mb->encryption_key) mb->encryption_key->protection_class = interesting_u32(dice);
      break;
    case 2:
      if (mb->encryption_key)
        mb->encryption_key->wrapped_key[dice.below(40)] ^=
            static_cast<uint8_t>(1 + dice.below(255));
      break;
    case 3:
      mb->encryption_key.reset();
      break;
    case 4:
      mb->size = dice.one_in(2) ? 0 : uint64_t{1} << (dice.below(64));
      break;
    default:
      mb->mode = interesting_u32(dice);
      break;
  }
  record = encode_mbfile(*mb);
}

void mutate_db_rows(Bytes& image, Dice& dice) {
  auto db = read_manifest_db(image);
  if (!db.ok() || db->files.empty() || dice.one_in(4)) {
    mutate_bytes(image, 256);
    return;
  }
  const size_t i = dice.below(db->files.size());
  ManifestFile& f = db->files[i];
  switch (dice.below(7)) {
    case 0:
      f.flags = interesting_u32(dice);
      break;
    case 1:
      db->files.erase(db->files.begin() + i);
      break;
    case 2: {  // a copy under another path
      ManifestFile copy = f;
      mutate_text(copy.relative_path, dice);
      db->files.push_back(std::move(copy));
      break;
    }
    case 3:  // moved: its blob is then missing, or another row's
      mutate_text(dice.one_in(2) ? f.domain : f.relative_path, dice);
      break;
    case 4:
    case 5:
      mutate_mbfile(f.file, dice);
      break;
    default:
      if (!db->properties.empty() && dice.one_in(2)) {
        mutate_bytes(db->properties[dice.below(db->properties.size())].second, 16);
      } else {
        db->properties.emplace_back("k" + std::to_string(dice.below(8)), Bytes{1, 2});
      }
      break;
  }
  auto written = write_manifest_db(*db);
  if (written.ok()) image = std::move(written).value();
}

void mutate_manifest_key(Manifest& m, Dice& dice) {
  if (!m.manifest_key || dice.one_in(8)) {
    m.manifest_key = dice.one_in(2) ? std::nullopt : std::optional<Bytes>(Bytes(44, 0x42));
    return;
  }
  Bytes& mk = *m.manifest_key;
  switch (dice.below(3)) {
    case 0:
      if (mk.size() >= 4) put_le32(mk, 0, interesting_u32(dice));
      break;
    case 1:
      if (!mk.empty()) mk[dice.below(mk.size())] ^= static_cast<uint8_t>(1 + dice.below(255));
      break;
    default:
      mutate_bytes(mk, 8);
      break;
  }
}

void mutate_manifest_plist(FolderInput& in, const std::optional<FolderKeys>& keys, Dice& dice) {
  Bytes& file = in.files.at(kManifestPlistName);
  auto manifest = read_manifest(file);
  if (!manifest.ok()) {
    mutate_bytes(file, 64);
    return;
  }
  std::optional<std::string> follow;
  const size_t pick = dice.below(8);
  if (pick == 0) {
    manifest->is_encrypted = !manifest->is_encrypted;
  } else if (pick < 3) {
    mutate_manifest_key(*manifest, dice);
  } else {
    follow = mutate_keybag(*manifest, dice);
  }
  file = write_manifest(*manifest);
  if (!follow || !keys) return;
  // The keychain's keybag-uuid follows the bag's new UUID (keys of the old bag: same class keys).
  change_plaintext(in, std::string(kKeychainBlob), *keys, [&](Bytes& plist) {
    auto archive = read_keychain_archive(plist);
    if (!archive.ok()) return;
    archive->keybag_uuid = *follow;
    write_archive_with_any_uuid_bytes(*archive, plist);
  });
}

void mutate_status(Bytes& file, Dice& dice) {
  auto status = read_backup_status(file);
  if (!status.ok() || dice.one_in(4)) {
    mutate_bytes(file, 32);
    return;
  }
  static const char* const kStates[] = {"finished", "new", "", "Finished", "finished\n"};
  if (dice.one_in(2)) {
    status->snapshot_state = kStates[dice.below(std::size(kStates))];
  } else {
    status->is_full_backup = !status->is_full_backup;
  }
  file = write_backup_status(*status);
}

// Drop a file, copy one under another name (a blob where the Manifest expects another), rename.
void mutate_container(FolderInput& in, Dice& dice) {
  auto it = std::next(in.files.begin(), static_cast<long>(dice.below(in.files.size())));
  switch (dice.below(3)) {
    case 0:
      in.files.erase(it);
      break;
    case 1: {
      auto other = std::next(in.files.begin(), static_cast<long>(dice.below(in.files.size())));
      other->second = it->second;
      break;
    }
    default: {
      std::string name = it->first;
      Bytes bytes = std::move(it->second);
      in.files.erase(it);
      mutate_text(name, dice);
      in.files.emplace(std::move(name), std::move(bytes));
      break;
    }
  }
}

// The file to mutate, weighted towards the ones the restore decides most on.
std::string pick_file(const FolderInput& in, Dice& dice) {
  std::vector<std::string> names;
  for (const auto& [name, bytes] : in.files) {
    size_t weight = 1;
    if (name == kManifestPlistName) weight = 4;
    if (name == kManifestDbName) weight = 5;
    if (name == kKeychainBlob) weight = 6;
    if (name.size() == 43 && name != kKeychainBlob) weight = 2;  // an app file blob
    names.insert(names.end(), weight, name);
  }
  return names[dice.below(names.size())];
}

void mutate_folder(FolderInput& in, Dice& dice) {
  const size_t pick = dice.below(20);
  if (pick == 0) {
    in.target ^= dice.one_in(3) ? kRestoreWithoutPassword : kTargetWithoutPasscode;
    return;
  }
  if (pick == 1) {
    mutate_container(in, dice);
    return;
  }
  const std::string name = pick_file(in, dice);
  const std::optional<FolderKeys> keys = folder_keys(in);
  if (name == kManifestPlistName) {
    mutate_manifest_plist(in, keys, dice);
    return;
  }
  if (name == kStatusPlistName) {
    mutate_status(in.files.at(name), dice);
    return;
  }
  if (name == kInfoPlistName || !keys || dice.one_in(6)) {
    // Info.plist (only reported), or the bytes as stored: for an encrypted blob its ciphertext.
    Bytes& file = in.files.at(name);
    if (keys && keys->encrypted && name != kInfoPlistName) {
      mutate_ciphertext(file, dice);
    } else {
      mutate_bytes(file, 64);
    }
    return;
  }
  bool changed = false;
  if (name == kManifestDbName) {
    changed = change_plaintext(in, name, *keys, [&](Bytes& image) { mutate_db_rows(image, dice); });
  } else if (name == kKeychainBlob) {
    changed =
        change_plaintext(in, name, *keys, [&](Bytes& plist) { mutate_archive_file(plist, dice); });
  } else {
    changed = change_plaintext(in, name, *keys, [&](Bytes& bytes) {
      if (dice.one_in(4)) {
        bytes.resize(dice.below(bytes.size() + 1));
      } else {
        mutate_bytes(bytes, 64);
      }
    });
  }
  if (!changed) mutate_ciphertext(in.files.at(name), dice);
}

}  // namespace
}  // namespace kcb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const kcb::ByteView input(data, size);
  auto in = kcb::fuzz::decode_folder_input(input);
  if (in) kcb::fuzz::run_folder(input, *in);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  using namespace kcb::fuzz;
  Dice dice(seed);
  auto in = decode_folder_input(kcb::ByteView(data, size));
  if (!in || in->files.empty() || dice.one_in(10)) return LLVMFuzzerMutate(data, size, max_size);
  mutate_folder(*in, dice);
  const kcb::Bytes out = encode_folder_input(*in);
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
