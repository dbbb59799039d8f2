// `kcbackup device init|add|update|delete|list|passcode|erase`: simulated devices in directories
// (engine/device.h). A refused SecItemAdd is invalid input for that device (exit 2) and its message
// carries Apple's OSStatus; the store failing is an I/O error (exit 4).
#include <memory>
#include <ostream>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/folder_commands.h"
#include "cli/seed.h"
#include "kcbackup/device.h"
#include "kcbackup/device_render.h"
#include "kcbackup/names.h"
#include "kcbackup/utf8.h"

namespace kcb::cli {
namespace {

// Keychain secrets are small; a larger file is almost certainly the wrong file.
inline constexpr size_t kMaxSecretFileBytes = 1 << 20;

Result<bool> parse_on_off(const std::string& option, const std::string& text) {
  KCB_ASSIGN_OR_RETURN(const Switch s, parsed(option, parse_switch(text)));
  if (s == Switch::kUnspecified) return Status::InvalidArgument(option + " takes on or off");
  return s == Switch::kOn;
}

Result<DeviceConfig> config_from(const DeviceInitOptions& o) {
  DeviceConfig config;
  KCB_ASSIGN_OR_RETURN(config.passcode, parse_on_off("--passcode", o.passcode));
  KCB_ASSIGN_OR_RETURN(config.icloud_keychain,
                       parse_on_off("--icloud-keychain", o.icloud_keychain));
  KCB_ASSIGN_OR_RETURN(config.persistent_refs,
                       parsed("--persistent-refs", parse_persistent_ref_kind(o.persistent_refs)));
  KCB_ASSIGN_OR_RETURN(config.sos, parse_on_off("--sos", o.sos));
  if (!o.uid_hex.empty()) {
    KCB_ASSIGN_OR_RETURN(const SecretBytes uid,
                         parse_hex_option("--uid-hex", o.uid_hex, 32, "UID"));
    config.uid.emplace(uid.view().begin(), uid.view().end());
  }
  return config;
}

// --secret-file (read through the Env) or --secret.
Result<SecretBytes> secret_from(const SecretOptions& o, Env& env) {
  if (!o.file) return SecretBytes(as_bytes(o.text.value_or("")));
  auto secret = read_secret_file(env, *o.file, kMaxSecretFileBytes);
  if (!secret.ok()) return secret.status().with_context("--secret-file");
  return secret;
}

// "device add: SecItemAdd refused the item: errSecDuplicateItem (-25299): ...": a refusal exits 2,
// a store failure 4.
Status sec_item_failure(const Status& st, std::string_view command, std::string_view call) {
  return sec_item_refusal(st, call).with_context(std::string(command));
}

// The row the selector names (find_row). No match is what SecItemUpdate/SecItemDelete would answer
// (errSecItemNotFound); an ambiguous or missing selector is a usage error of ours.
Result<int64_t> select_row(const Device& device, const ItemSelector& sel, std::string_view command,
                           std::string_view call) {
  ItemQuery query{ItemClass::kGenp, sel.row, sel.account, sel.service};
  KCB_ASSIGN_OR_RETURN(query.item_class, parse_item_class(sel.item_class));
  if (sel.by_account) query.rowid.reset();
  if (!sel.by_account && sel.row <= 0) {
    return Status::InvalidArgument("name the item with --row N or --account A --service S")
        .with_context(std::string(command));
  }
  auto row = find_row(device, query);
  if (row.ok()) return row->rowid;
  if (row.status().code() == Code::kNotFound) return sec_item_failure(row.status(), command, call);
  if (row.status().code() == Code::kInvalidArgument) {
    return Status::InvalidArgument(row.status().message() + "; name one with --row")
        .with_context(std::string(command));
  }
  return row.status().with_context(std::string(command));
}

Result<ItemUpdate> changes_from(const DeviceUpdateOptions& o, Env& env) {
  ItemUpdate changes;
  if (!o.accessible.empty()) {
    KCB_ASSIGN_OR_RETURN(changes.accessible, parse_accessibility(o.accessible));
  }
  if (!o.synchronizable.empty()) {
    KCB_ASSIGN_OR_RETURN(changes.synchronizable,
                         parse_on_off("--synchronizable", o.synchronizable));
  }
  changes.label = o.label;
  if (o.secret.given()) {
    KCB_ASSIGN_OR_RETURN(changes.secret, secret_from(o.secret, env));
  }
  if (!changes.accessible && !changes.synchronizable && !changes.label && !changes.secret) {
    return Status::InvalidArgument(
        "nothing to change: give --accessible, --synchronizable, --label, --secret or "
        "--secret-file");
  }
  return changes;
}

}  // namespace

SecretOptions::~SecretOptions() {
  if (text) wipe_password(*text);
}

Status run_device_init(const DeviceInitOptions& o, Env& env, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(DeviceConfig config, config_from(o));
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.run.seed));
  KCB_ASSIGN_OR_RETURN(auto device, Device::create_at(env, o.dir, config, *random));
  if (config.uid) wipe(*config.uid);
  out << render::device_created_report(o.dir, *device, o.run.format);
  return Status::Ok();
}

Status run_device_set(const DeviceSetOptions& o, Env& env, std::ostream& out, std::ostream&) {
  if (o.persistent_refs.empty() && o.sos.empty()) {
    return Status::InvalidArgument(
        "device set: nothing to change: give --persistent-refs or --sos");
  }
  std::optional<PersistentRefKind> kind;
  if (!o.persistent_refs.empty()) {
    KCB_ASSIGN_OR_RETURN(kind,
                         parsed("--persistent-refs", parse_persistent_ref_kind(o.persistent_refs)));
  }
  std::optional<bool> sos;
  if (!o.sos.empty()) {
    KCB_ASSIGN_OR_RETURN(sos, parse_on_off("--sos", o.sos));
  }
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.run.seed));
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.dir));
  const bool renews = kind && *kind != device->persistent_refs();
  KCB_ASSIGN_OR_RETURN(std::vector<RowInfo> rows, device->rows());
  KCB_RETURN_IF_ERROR(device->change_settings({.persistent_refs = kind, .sos = sos}));
  const size_t renewed = renews ? rows.size() : 0;
  out << render::device_settings_report(o.dir, *device, renews, renewed, o.run.format);
  return Status::Ok();
}

Status run_device_add(const DeviceAddOptions& o, Env& env, std::ostream& out, std::ostream&) {
  if (!o.secret.given()) {
    return Status::InvalidArgument("device add: --secret or --secret-file is required");
  }
  KCB_ASSIGN_OR_RETURN(Traits traits, parse_traits(o.traits));
  KCB_ASSIGN_OR_RETURN(traits.system_bound, parsed("--sysbound", parse_system_bound(o.sysbound)));
  traits.tombstone = o.tombstone;
  KCB_ASSIGN_OR_RETURN(SecretBytes secret, secret_from(o.secret, env));
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.run.seed));
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.dir));
  NewItem item = new_item_with(traits);
  item.account = o.account;
  item.service = o.service;
  item.label = o.label.value_or("");
  item.secret = std::move(secret);
  auto rowid = device->add(item, *random);
  if (!rowid.ok()) return sec_item_failure(rowid.status(), "device add", "SecItemAdd");
  KCB_ASSIGN_OR_RETURN(RowInfo row, find_row(*device, {traits.item_class, *rowid, "", ""}));
  out << render::item_added_report(
      o.dir, {traits, o.account, o.service, *rowid, row.persistent_ref}, o.run.format);
  return Status::Ok();
}

Status run_device_update(const DeviceUpdateOptions& o, Env& env, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(ItemUpdate changes, changes_from(o, env));
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.run.seed));
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.dir));
  KCB_ASSIGN_OR_RETURN(ItemClass c, parse_item_class(o.selector.item_class));
  KCB_ASSIGN_OR_RETURN(int64_t rowid,
                       select_row(*device, o.selector, "device update", "SecItemUpdate"));
  const Status st = device->update(c, rowid, changes, *random);
  if (!st.ok()) return sec_item_failure(st, "device update", "SecItemUpdate");
  out << render::item_changed_report(o.dir, "update", c, rowid, o.run.format);
  return Status::Ok();
}

Status run_device_delete(const DeviceDeleteOptions& o, Env& env, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.dir));
  KCB_ASSIGN_OR_RETURN(ItemClass c, parse_item_class(o.selector.item_class));
  KCB_ASSIGN_OR_RETURN(int64_t rowid,
                       select_row(*device, o.selector, "device delete", "SecItemDelete"));
  const Status st = device->remove(c, rowid);
  if (!st.ok()) return sec_item_failure(st, "device delete", "SecItemDelete");
  out << render::item_changed_report(o.dir, "delete", c, rowid, o.format);
  return Status::Ok();
}

namespace {
// Rows the device's keybag cannot open are not items, but never silence: after the listing,
// Corruption naming their count (exit 2).
Status unreadable_rows_error(const std::string& dir, size_t unreadable) {
  if (unreadable == 0) return Status::Ok();
  return Status::Corruption(printable_text(dir) + ": " + std::to_string(unreadable) +
                            " row(s) of keychain-2.db cannot be read with this device's keybag "
                            "(its uid or keybag file was replaced, or the folder was damaged)");
}
}  // namespace

Status run_device_list(const DeviceListOptions& o, Env& env, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.dir, {DeviceAccess::kReadOnly}));
  size_t unreadable = 0;
  KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> items, device->list(&unreadable));
  out << render::device_list_report(o.dir, *device, items, unreadable, o.show_secrets, o.format);
  return unreadable_rows_error(o.dir, unreadable);
}

Status run_device_passcode(const DeviceChangeOptions& o, Env& env, std::ostream& out,
                           std::ostream&) {
  KCB_ASSIGN_OR_RETURN(bool on, parse_on_off("passcode", o.passcode));
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.run.seed));
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.dir));
  size_t deleted = 0;
  KCB_RETURN_IF_ERROR(device->set_passcode(on, *random, &deleted));
  out << render::passcode_report(o.dir, on, deleted, o.run.format);
  return Status::Ok();
}

Status run_device_erase(const DeviceChangeOptions& o, Env& env, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.run.seed));
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.dir));
  KCB_ASSIGN_OR_RETURN(std::vector<RowInfo> rows, device->rows());
  KCB_RETURN_IF_ERROR(device->erase(*random));
  out << render::erase_report(o.dir, *device, rows.size(), o.run.format);
  return Status::Ok();
}

namespace {

// --label and the secret (--secret or --secret-file): what an item holds besides its attributes.
void add_content_options(CLI::App* cmd, std::optional<std::string>* label, SecretOptions* secret,
                         const char* what) {
  cmd->add_option("--label", *label, "kSecAttrLabel");
  auto* text = cmd->add_option("--secret", secret->text, std::string(what) + " as text");
  auto* file = cmd->add_option("--secret-file", secret->file,
                               "Read the bytes of " + std::string(what) + " from a file");
  text->excludes(file);
}

// DIR and which item in it (update, delete).
void add_selector_options(CLI::App* cmd, std::string* dir, ItemSelector* sel) {
  add_device_dir(cmd, dir);
  cmd->add_option("--class", sel->item_class, "genp, inet, cert or keys")->capture_default_str();
  auto* row = cmd->add_option("--row", sel->row, "The item's row, as `device list` prints it");
  // --account and --service name an item together; --row alone does.
  auto by_account = [sel](const std::string&) { sel->by_account = true; };
  auto* account = cmd->add_option("--account", sel->account, "kSecAttrAccount of the item");
  auto* service = cmd->add_option("--service", sel->service, "kSecAttrService of the item");
  account->each(by_account);
  service->each(by_account);
  row->excludes(account)->excludes(service);
}

// --persistent-refs and --sos, for init (with defaults) and set (absent: unchanged).
void add_settings_flags(CLI::App* cmd, std::string* refs, std::string* sos, bool with_default) {
  auto* r = cmd->add_option("--persistent-refs", *refs,
                            "The references the device hands out: rowid (12 bytes: class + "
                            "rowid) or uuid (20 bytes: class + UUID)");
  auto* s = cmd->add_option("--sos", *sos,
                            "on or off: in the legacy iCloud Keychain sync circle (backups then "
                            "carry tombstones)");
  if (with_default) {
    r->capture_default_str();
    s->capture_default_str();
  }
}

void add_item_commands(CLI::App& device, Status& status) {
  add_command(device, status, "add", run_device_add, [](CLI::App* cmd, DeviceAddOptions& o) {
    add_device_dir(cmd, &o.dir);
    add_trait_options(cmd, &o.traits);
    cmd->add_option("--sysbound", o.sysbound,
                    "kSecAttrSysBound: none, or preserve (kept to the device: never in a backup, "
                    "put back after a restore)")
        ->capture_default_str();
    cmd->add_flag("--tombstone", o.tombstone,
                  "A tombstone: the marker a deleted synchronizable item leaves (in backups only "
                  "with SOS on)");
    cmd->add_option("--account", o.account, "kSecAttrAccount")->required();
    cmd->add_option("--service", o.service, "kSecAttrService")->required();
    add_content_options(cmd, &o.label, &o.secret, "the secret (kSecValueData)");
    add_seed_and_format(cmd, &o.run);
  });
  add_command(device, status, "update", run_device_update,
              [](CLI::App* cmd, DeviceUpdateOptions& o) {
                add_selector_options(cmd, &o.dir, &o.selector);
                cmd->add_option("-a,--accessible", o.accessible,
                                "The new accessibility class (any spelling)");
                cmd->add_option("--synchronizable", o.synchronizable, "on or off");
                add_content_options(cmd, &o.label, &o.secret, "the new secret");
                add_seed_and_format(cmd, &o.run);
              });
  add_command(device, status, "delete", run_device_delete,
              [](CLI::App* cmd, DeviceDeleteOptions& o) {
                add_selector_options(cmd, &o.dir, &o.selector);
                add_format_option(cmd, &o.format, false);
              });
  add_command(device, status, "list", run_device_list, [](CLI::App* cmd, DeviceListOptions& o) {
    add_device_dir(cmd, &o.dir);
    cmd->add_flag("--show-secrets", o.show_secrets, "Also print each secret in hex");
    add_format_option(cmd, &o.format, false);
  });
}

void add_init_command(CLI::App& device, Status& status) {
  add_command(device, status, "init", run_device_init, [](CLI::App* cmd, DeviceInitOptions& o) {
    cmd->add_option("DIR", o.dir, "A new or empty directory")->required();
    cmd->add_option("--passcode", o.passcode, "on or off")->capture_default_str();
    cmd->add_option("--icloud-keychain", o.icloud_keychain, "on or off")->capture_default_str();
    cmd->add_option("--uid-hex", o.uid_hex,
                    "The hardware UID, 64 hex digits, for reproducible simulations "
                    "(random when absent)");
    add_settings_flags(cmd, &o.persistent_refs, &o.sos, true);
    add_seed_and_format(cmd, &o.run);
  });
}

void add_change_commands(CLI::App& device, Status& status) {
  add_command(device, status, "passcode", run_device_passcode,
              [](CLI::App* cmd, DeviceChangeOptions& o) {
                add_device_dir(cmd, &o.dir);
                cmd->add_option("STATE", o.passcode, "on or off")->required();
                add_seed_and_format(cmd, &o.run);
              });
  add_command(device, status, "erase", run_device_erase, [](CLI::App* cmd, DeviceChangeOptions& o) {
    add_device_dir(cmd, &o.dir);
    add_seed_and_format(cmd, &o.run);
  });
  add_command(device, status, "set", run_device_set, [](CLI::App* cmd, DeviceSetOptions& o) {
    add_device_dir(cmd, &o.dir);
    add_settings_flags(cmd, &o.persistent_refs, &o.sos, false);
    add_seed_and_format(cmd, &o.run);
  });
}

}  // namespace

void add_device_command(CLI::App& app, Status& status) {
  CLI::App& device = add_group(app, "device");
  add_init_command(device, status);
  add_item_commands(device, status);
  add_change_commands(device, status);
  add_device_files_commands(device, status);  // put, files (cli/device_files_commands.cc, cli13)
}

}  // namespace kcb::cli
