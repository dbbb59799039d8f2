// audit_input_of_found (kcbackup/audit.h): the items of one app found in a real backup become an
// audit's input, so `audit --backup` reports exactly what `audit` reports for a document.
#include <string>
#include <unordered_map>

#include "kcbackup/audit.h"
#include "kcbackup/utf8.h"

namespace kcb {
namespace {

std::string part(ByteView bytes) {
  return bytes.empty() ? "(none)" : printable_text(bytes);
}

}  // namespace

Result<AuditInput> audit_input_of_found(std::span<const FoundItem> items, Switch icloud_keychain) {
  if (items.size() > kMaxAuditItems) {
    return Status::ResourceExhausted(std::to_string(items.size()) + " items, more than the " +
                                     std::to_string(kMaxAuditItems) + " an audit takes");
  }
  AuditInput input;
  input.icloud_keychain = icloud_keychain;
  // How often each base name was seen: a synchronizable twin or another class with the same
  // account and service gets " #2", so every report line names one item.
  std::unordered_map<std::string, size_t> seen;
  for (const FoundItem& f : items) {
    AuditItem item;
    item.name = part(f.account) + " @ " + part(f.service);
    const size_t n = ++seen[item.name];
    if (n > 1) item.name += " #" + std::to_string(n);
    item.traits = f.traits;
    item.accessible_from = AccessibleFrom::kExplicit;
    input.items.push_back(std::move(item));
  }
  return input;
}

}  // namespace kcb
