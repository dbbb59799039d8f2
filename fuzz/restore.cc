// Fuzz target restore: a backup's Manifest.plist and keychain file (fuzz/bundle_input.h), wrapped
// into a real backup folder (Manifest.db, Status.plist and, when the Manifest says encrypted, the
// keychain file sealed under a class 1 file key and Manifest.db under a class 4 ManifestKey, with
// the keys the fixed password opens), restored onto a fixed device
// (fuzz/restore_target.h) with a fixed password (or none, by one input bit) and KDF caps of 16
// rounds, so no input buys time.
// After every input:
//   - restore_backup failed: the target's rows are exactly what they were;
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
#include <cstring>
#include <optional>

#include "engine/device_internals.h"
#include "engine/folder_writer.h"
#include "engine/keybag.h"
#include "engine/keychain_store.h"
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
// not open: the restore then refuses the folder, as it must). Nothing when a file does not parse:
// the folder reader parses the same bytes the same way.
std::optional<BackupFolder> folder_of(Manifest manifest, const BundleInput& in,
                                      const Device& target, Random& random) {
  KeybagLimits caps = restore_options(true).keybag_limits;
  auto bag = parse_keybag(manifest.backup_keybag, caps);
  if (!bag.ok()) return std::nullopt;
  NewKeybag keys{std::move(bag).value(), {}};
  if (manifest.is_encrypted) {
    auto unlocked = unlock_keybag(keys.bag, kPassword, DeviceInternals::device_key(target));
    if (unlocked.ok()) keys.keys = std::move(unlocked).value();
    for (uint32_t c : {1u, 4u}) {
      if (keys.keys.is_unlocked(c)) continue;
      SecretBytes stand_in(kClassKeySize);
      random.fill(stand_in.span());
      auto cls = UnlockedClass::unlocked_with(c, std::move(stand_in));
      KCB_ASSERT(cls.ok());
      keys.keys.classes.push_back(std::move(cls).value());
    }
  }
  FolderContents contents{std::move(manifest), Bytes(in.archive.begin(), in.archive.end()), {}};
  auto folder = build_backup_folder(std::move(contents), keys, random);
  if (!folder.ok()) return std::nullopt;
  return std::move(folder).value();
}

void run_restore(const BundleInput& in) {
  ArchiveLimits limits;
  limits.max_items = 256;
  auto archive = read_keychain_archive(in.archive, limits);
  if (!archive.ok()) return;

  FixedTarget& target = fixed_target((in.target & kTargetWithoutPasscode) == 0);
  // Read once: the folder's own reader parses these same bytes again inside restore_backup.
  auto manifest = read_manifest(in.manifest);
  if (!manifest.ok()) return;
  const bool encrypted = manifest->is_encrypted;
  auto random = make_seeded_random(kSeed);
  std::optional<BackupFolder> folder =
      folder_of(std::move(manifest).value(), in, *target.device, *random);
  if (!folder) return;
  auto report =
      restore_backup(*folder, *target.device,
                     restore_options((in.target & kRestoreWithoutPassword) == 0), *random);
  auto rows = DeviceInternals::store(*target.device).list_all();
  KCB_ASSERT(rows.ok());
  if (!report.ok()) {
    KCB_ASSERT(*rows == target.snapshot);  // an error changes nothing
    return;
  }
  // Without the password only a bundle that is not encrypted restores.
  KCB_ASSERT(!encrypted || (in.target & kRestoreWithoutPassword) == 0);
  check_success(*report, *archive, target, *rows);
  reset(target);
}

}  // namespace
}  // namespace kcb::fuzz

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
