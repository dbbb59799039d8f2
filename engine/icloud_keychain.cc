#include "engine/icloud_keychain.h"

#include "engine/blob.h"
#include "engine/crypto.h"
#include "engine/device_internals.h"
#include "kcbackup/names.h"

namespace kcb {
namespace {

constexpr size_t kSyncKeySize = 32;
constexpr size_t kEscrowSaltSize = 16;
constexpr uint32_t kLastMigratoryClass = 8;

// The escrow key guards the sync key against someone who has the account but not the secret.
Result<SecretBytes> escrow_key(std::string_view secret, ByteView salt, uint32_t iterations) {
  return pbkdf2_hmac_sha256(as_bytes(secret), salt, iterations, kSyncKeySize);
}

void append_field(std::string& out, ByteView bytes) {
  out += to_hex(bytes);
  out += '|';
}

}  // namespace

bool travels_by_icloud_keychain(const Item& item) {
  // A tombstone is a marker of a deletion, not an item: it is not synced as one (R15).
  if (item.tombstone()) return false;
  return item.synchronizable() && names_of(item.accessibility()).key_class <= kLastMigratoryClass &&
         !item.has_token() && !item.auth_constraint();
}

std::string sync_identity(const Item& item) {
  std::string id(name_of(item.item_class()));
  id += '|';
  append_field(id, item.account());
  append_field(id, item.service());
  append_field(id, as_bytes(item.access_group()));
  append_field(id, as_bytes(item.server()));
  append_field(id, as_bytes(item.path()));
  append_field(id, as_bytes(item.label()));
  id += std::to_string(item.protocol()) + '|' + std::to_string(item.port());
  return id;
}

Result<CloudAccount> CloudAccount::create(std::string_view escrow_secret, Random& random,
                                          uint32_t escrow_iterations) {
  if (escrow_iterations == 0) {
    return Status::InvalidArgument("iCloud Keychain: escrow KDF needs at least one round");
  }
  CloudAccount account;
  account.escrow_iterations_ = escrow_iterations;
  account.escrow_salt_.resize(kEscrowSaltSize);
  random.fill(account.escrow_salt_);
  SecretBytes sync_key(kSyncKeySize);
  random.fill(sync_key.span());
  KCB_ASSIGN_OR_RETURN(SecretBytes guard,
                       escrow_key(escrow_secret, account.escrow_salt_, escrow_iterations));
  KCB_ASSIGN_OR_RETURN(account.escrowed_key_, aes_key_wrap(guard.view(), sync_key.view()));
  return account;
}

Status CloudAccount::join(Device& device, std::string_view escrow_secret, Random& random) {
  KCB_ASSIGN_OR_RETURN(SecretBytes guard,
                       escrow_key(escrow_secret, escrow_salt_, escrow_iterations_));
  auto sync_key = aes_key_unwrap(guard.view(), escrowed_key_);
  if (!sync_key.ok()) {
    return Status::PermissionDenied("iCloud Keychain: wrong account secret");
  }
  KCB_ASSIGN_OR_RETURN(Bytes wrapped,
                       aes_key_wrap(DeviceInternals::device_key(device), sync_key->view()));
  member_keys_[device.unique_device_id()] = std::move(wrapped);
  KCB_RETURN_IF_ERROR(device.set_icloud_keychain(true));
  return sync(device, random).status();
}

Status CloudAccount::leave(Device& device) {
  member_keys_.erase(device.unique_device_id());
  return device.set_icloud_keychain(false);
}

bool CloudAccount::is_member(const Device& device) const {
  return member_keys_.count(device.unique_device_id()) != 0;
}

Result<SecretBytes> CloudAccount::sync_key_for(const Device& device) const {
  auto it = member_keys_.find(device.unique_device_id());
  if (it == member_keys_.end() || !device.icloud_keychain()) {
    return Status::FailedPrecondition("iCloud Keychain is off on this device");
  }
  return aes_key_unwrap(DeviceInternals::device_key(device), it->second);
}

Result<SyncReport> CloudAccount::sync(Device& device, Random& random) {
  KCB_ASSIGN_OR_RETURN(SecretBytes key, sync_key_for(device));
  SyncReport report;
  std::map<std::string, bool> present;
  // Every readable item as it is stored: its plaintext sealed as it is (the canonical encoding,
  // which item.encode() would rebuild), with no list of copies first (issue 17).
  KCB_RETURN_IF_ERROR(
      device.for_each_item([&](int64_t, ByteView, Item& item, ByteView plaintext) -> Status {
        const std::string id = sync_identity(item);
        present[id] = true;
        if (!travels_by_icloud_keychain(item)) return Status::Ok();
        const uint32_t key_class = names_of(item.accessibility()).key_class;
        KCB_ASSIGN_OR_RETURN(Bytes blob, seal_blob(key_class, key.view(), plaintext, random));
        records_[id] = {item.item_class(), std::move(blob)};
        ++report.pushed;
        return Status::Ok();
      }));
  for (const auto& [id, record] : records_) {
    if (present.count(id)) continue;
    KCB_ASSIGN_OR_RETURN(ParsedBlob parsed, parse_blob(record.second));
    KCB_ASSIGN_OR_RETURN(SecretBytes plaintext, open_blob(parsed, key.view()));
    KCB_ASSIGN_OR_RETURN(Item item, Item::decode(record.first, plaintext.view()));
    auto added = device.add_item(item, random);
    // A local item with the same primary key is already there: keep it.
    if (!added.ok() && added.status().code() == Code::kAlreadyExists) continue;
    KCB_RETURN_IF_ERROR(added.status());
    ++report.pulled;
  }
  return report;
}

void CloudAccount::forget(const Item& item) {
  records_.erase(sync_identity(item));
}

}  // namespace kcb
