// Fuzz target restore: a backup's Manifest.plist and keychain file (fuzz/bundle_input.h) restored
// by restore_keychain_archive onto a fixed device (fuzz/restore_target.h) with a fixed password (or
// none, by one input bit) and KDF caps of 16 rounds, so no input buys time. The folder around the
// two files (Manifest.db, Status.plist, the file keys) is the folder target's to fuzz.
// KCB_BASELINE_SETUP=1 takes the way of before (issue 17, session 16): the two files wrapped into
// a real backup folder (Manifest.db, Status.plist and, when the Manifest says encrypted, the
// keychain file sealed under a class 1 file key and Manifest.db under a class 4 ManifestKey, with
// the keys the fixed password opens) and restored by restore_backup. KCB_RESTORE_CROSS_CHECK=1
// takes both ways on every input and requires that whatever the folder restores, the bare file
// restores the same (report and rows), and that the bare file fails only where the folder does.
// After every input:
//   - the restore failed: the target's rows are exactly what they were;
//   - it succeeded: every row on the target is readable, every item the report calls restored is
//     there, every item is restored, kept (R13) or lost with a reason, the pre-existing
//     synchronizable rows are untouched, the system-bound ones are back (R12) or said not to be,
//     the others were replaced (R7), and no akpu item is on the target without a passcode (R8).
// The target is then reset to its snapshot in one transaction (cheaper than a new device).
//
// LLVMFuzzerCustomMutator decodes one file of the bundle, changes one field the restore path
// decides on (blob keyclass or header, keybag records and lengths, the two UUIDs, IsEncrypted,
// items dropped, duplicated, reordered or moved to another class) and re-encodes it; a file it
// cannot decode, and one input in ten, gets libFuzzer's byte mutations instead.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "engine/device_internals.h"
#include "engine/folder_writer.h"
#include "engine/keybag.h"
#include "engine/keychain_store.h"
#include "engine/pooled_memory.h"
#include "engine/setup_profile.h"
#include "fuzz/bundle_input.h"
#include "fuzz/fixed_keys.h"
#include "fuzz/restore_checks.h"
#include "fuzz/restore_mutator.h"
#include "fuzz/restore_target.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"

namespace kcb::fuzz {
namespace {

// The folder around the input's two files. The file keys are sealed under the class keys the fixed
// password and the target's key 0x835 open (random stand-ins for a class the bag lacks or that does
// not open: the restore then refuses the folder, as it must; `stand_ins` says so). Nothing when a
// file does not parse: the folder reader parses the same bytes the same way.
std::optional<BackupFolder> folder_of(const Manifest& manifest, const BundleInput& in,
                                      const Device& target, Random& random, bool& stand_ins) {
  KeybagLimits caps = restore_options(true).keybag_limits;
  auto bag = parse_keybag(manifest.backup_keybag, caps);
  if (!bag.ok()) return std::nullopt;
  NewKeybag keys{std::move(bag).value(), {}};
  if (manifest.is_encrypted) {
    auto unlocked = unlock_keybag(keys.bag, kPassword, DeviceInternals::device_key(target));
    if (unlocked.ok()) keys.keys = std::move(unlocked).value();
    for (uint32_t c : {1u, 4u}) {
      if (keys.keys.is_unlocked(c)) continue;
      stand_ins = true;
      SecretBytes stand_in(kClassKeySize);
      random.fill(stand_in.span());
      auto cls = UnlockedClass::unlocked_with(c, std::move(stand_in));
      KCB_ASSERT(cls.ok());
      keys.keys.classes.push_back(std::move(cls).value());
    }
  }
  FolderContents contents{manifest, Bytes(in.archive.begin(), in.archive.end()), {}};
  auto folder = build_backup_folder(std::move(contents), keys, random);
  if (!folder.ok()) return std::nullopt;
  return std::move(folder).value();
}

// One restore of the input onto the target: the report, and the target's rows after it.
struct Restored {
  Result<RestoreReport> report;
  std::vector<KeychainRow> rows;
  bool stand_in_keys = false;  // the folder's file keys were sealed under random class keys
};

Restored rows_after(Result<RestoreReport> report, const FixedTarget& target) {
  auto rows = DeviceInternals::store(*target.device).list_all();
  KCB_ASSERT(rows.ok());
  return {std::move(report), std::move(rows).value()};
}

// The way of before: nothing when the folder cannot be built around the files.
std::optional<Restored> restore_through_folder(const Manifest& manifest, const BundleInput& in,
                                               bool with_password, FixedTarget& target) {
  auto random = make_seeded_random(kSeed);
  bool stand_ins = false;
  std::optional<BackupFolder> folder = folder_of(manifest, in, *target.device, *random, stand_ins);
  if (!folder) return std::nullopt;
  auto restore_random = make_seeded_random(kSeed);
  Restored r = rows_after(
      restore_backup(*folder, *target.device, restore_options(with_password), *restore_random),
      target);
  r.stand_in_keys = stand_ins;
  return r;
}

Restored restore_bare_file(const Manifest& manifest, const KeychainArchive& archive,
                           bool with_password, FixedTarget& target) {
  auto random = make_seeded_random(kSeed);
  return rows_after(restore_keychain_archive(manifest, archive, *target.device,
                                             restore_options(with_password), *random),
                    target);
}

// The checks every restore answers to; the target is put back to its snapshot after a success.
void check_and_reset(const Restored& r, const KeychainArchive& archive, bool encrypted,
                     bool with_password, FixedTarget& target) {
  if (!r.report.ok()) {
    KCB_ASSERT(r.rows == target.snapshot);  // an error changes nothing
    return;
  }
  // Without the password only a bundle that is not encrypted restores.
  KCB_ASSERT(!encrypted || with_password);
  check_success(*r.report, archive, target, r.rows);
  reset(target);
}

// Whatever the folder restores, the bare file restores the same; the bare file fails only where
// the folder does, and the folder fails where the bare file does not only when its file keys had to
// be sealed under stand-ins (a class the password does not open: the folder layer's own refusal).
void check_same_restore(const Restored& folder, const Restored& bare) {
  if (!bare.report.ok()) {
    KCB_ASSERT(!folder.report.ok());
    return;
  }
  if (!folder.report.ok()) {
    KCB_ASSERT(folder.stand_in_keys);
    return;
  }
  KCB_ASSERT(folder.report->items == bare.report->items);
  KCB_ASSERT(folder.report->replaced == bare.report->replaced);
  KCB_ASSERT(folder.report->warnings == bare.report->warnings);
  KCB_ASSERT(folder.rows == bare.rows);
}

bool cross_check() {
  static const bool on = std::getenv("KCB_RESTORE_CROSS_CHECK") != nullptr;
  return on;
}

void run_restore(const BundleInput& in) {
  ArchiveLimits limits;
  limits.max_items = 256;
  auto archive = read_keychain_archive(in.archive, limits);
  if (!archive.ok()) return;

  FixedTarget& target = fixed_target((in.target & kTargetWithoutPasscode) == 0);
  auto manifest = read_manifest(in.manifest);
  if (!manifest.ok()) return;
  const bool encrypted = manifest->is_encrypted;
  const bool with_password = (in.target & kRestoreWithoutPassword) == 0;
  std::optional<Restored> folder;
  if (baseline_setup() || cross_check()) {
    folder = restore_through_folder(*manifest, in, with_password, target);
    if (folder) check_and_reset(*folder, *archive, encrypted, with_password, target);
    if (!cross_check()) return;
  }
  const Restored bare = restore_bare_file(*manifest, *archive, with_password, target);
  check_and_reset(bare, *archive, encrypted, with_password, target);
  if (folder) check_same_restore(*folder, bare);
}

}  // namespace
}  // namespace kcb::fuzz

// SQLite's and OpenSSL's memory from free lists (engine/pooled_memory.h): this target's SQLite
// reads only databases the engine wrote.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kcb::use_pooled_library_memory();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto input = kcb::fuzz::split_bundle_input(kcb::ByteView(data, size));
  if (input) kcb::fuzz::run_restore(*input);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  using namespace kcb::fuzz;
  Dice dice(seed);
  auto input = split_bundle_input(kcb::ByteView(data, size));
  if (!input || dice.one_in(10)) return LLVMFuzzerMutate(data, size, max_size);
  uint8_t target = input->target;
  kcb::Bytes manifest(input->manifest.begin(), input->manifest.end());
  kcb::Bytes archive(input->archive.begin(), input->archive.end());
  const size_t pick = dice.below(10);
  if (pick == 0) {
    target ^= dice.one_in(3) ? kRestoreWithoutPassword : kTargetWithoutPasscode;
  } else if (pick < 5) {
    mutate_manifest_file(manifest, archive, dice);
  } else {
    mutate_archive_file(archive, dice);
  }
  const kcb::Bytes out = join_bundle_input(target, manifest, archive);
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
