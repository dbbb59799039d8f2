// `kcbackup inspect keybag|blob|archive`: what is inside the bytes, for people and tools. The facts
// come from the engine (kcbackup/inspection.h), the report from render/ (kcbackup/inspect_render.h:
// keys and secrets only with --show-secrets, each decoded archive item's fate from the oracle);
// this file reads the files through the Env, gathers the keys the user has, and prints.
#include <algorithm>
#include <memory>
#include <optional>
#include <ostream>

#include "cli/commands.h"
#include "cli/folder_commands.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/backup_keys.h"
#include "kcbackup/device.h"
#include "kcbackup/inspect_render.h"
#include "kcbackup/inspection.h"

namespace kcb::cli {
namespace {

// A Manifest.plist carries a keybag and a little more; 16 MiB is generous for either.
inline constexpr size_t kMaxInspectFileBytes = size_t{16} << 20;
// A keychain archive holds every item of a phone; 256 MiB is far beyond any real one.
inline constexpr size_t kMaxArchiveFileBytes = size_t{256} << 20;

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
  KCB_ASSIGN_OR_RETURN(KeybagKeySources sources, keybag_key_sources(o.keys, env, encrypted));
  KCB_RETURN_IF_ERROR(bag->unlock(sources));
  out << render::keybag_report(o.file, manifest, bytes.size(), *bag, o.show_secrets,
                               {o.format, use_colour()});
  return Status::Ok();
}

InspectBlobOptions::~InspectBlobOptions() {
  wipe_password(class_key_hex);
}

Status run_inspect_blob(const InspectBlobOptions& o, Env& env, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, env.read_file(o.file, kMaxInspectedBlobBytes));
  auto blob = blob_facts(bytes);
  if (!blob.ok()) return blob.status().with_context(o.file);
  std::optional<DerDict> dict;
  if (!o.class_key_hex.empty()) {
    KCB_ASSIGN_OR_RETURN(SecretBytes class_key,
                         parse_hex_option("--class-key", o.class_key_hex, 32, "class key"));
    auto opened = open_blob_attributes(bytes, class_key.view());
    if (!opened.ok()) return opened.status().with_context(o.file);
    dict = std::move(*opened);
  }
  out << render::blob_report(o.file, bytes.size(), *blob, dict, o.show_secrets, o.format);
  return Status::Ok();
}

Status run_inspect_archive(const InspectArchiveOptions& o, Env& env, std::ostream& out,
                           std::ostream&) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, env.read_file(o.file, kMaxArchiveFileBytes));
  auto archive = read_keychain_archive(bytes);
  if (!archive.ok()) return archive.status().with_context(o.file);
  out << render::archive_report(o.file, *archive, archive_entries(*archive, nullptr), o.format);
  return Status::Ok();
}

void add_inspect_command(CLI::App& app, Status& status) {
  CLI::App& inspect = add_group(app, "inspect");
  add_command(
      inspect, status, "keybag", run_inspect_keybag, [](CLI::App* cmd, InspectKeybagOptions& o) {
        cmd->add_option("FILE", o.file, "A keybag or a Manifest.plist holding BackupKeyBag")
            ->required();
        add_backup_key_options(
            cmd, &o.keys, "A device directory whose key 0x835 opens the device layer (WRAP & 1)");
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
