// Keychain item over the DER attribute dictionary; see item.h for the contract.
#include "kcbackup/item.h"

#include <utility>

#include "engine/short_text.h"
#include "kcbackup/names.h"

namespace kcb {

namespace {

// Which DER kinds a known attribute may have. acct and svce take two: Apple's schema stores
// either a string or data there.
struct AttributeType {
  std::string_view name;
  DerKind kind;
  DerKind other_kind;  // == kind when only one is allowed
};

constexpr AttributeType kKnownAttributes[] = {
    {attr::kAccessible, DerKind::kString, DerKind::kString},
    {attr::kSynchronizable, DerKind::kInteger, DerKind::kInteger},
    {attr::kSystemBound, DerKind::kInteger, DerKind::kInteger},
    {attr::kAppClip, DerKind::kInteger, DerKind::kInteger},
    {attr::kTombstone, DerKind::kInteger, DerKind::kInteger},
    {attr::kTokenId, DerKind::kString, DerKind::kString},
    {attr::kAccessGroup, DerKind::kString, DerKind::kString},
    {attr::kLabel, DerKind::kString, DerKind::kString},
    {attr::kServer, DerKind::kString, DerKind::kString},
    {attr::kPath, DerKind::kString, DerKind::kString},
    {attr::kProtocol, DerKind::kInteger, DerKind::kInteger},
    {attr::kPort, DerKind::kInteger, DerKind::kInteger},
    {attr::kAccount, DerKind::kString, DerKind::kData},
    {attr::kService, DerKind::kString, DerKind::kData},
    {attr::kCreationDate, DerKind::kDate, DerKind::kDate},
    {attr::kModificationDate, DerKind::kDate, DerKind::kDate},
    {attr::kAccessControl, DerKind::kData, DerKind::kData},
    {attr::kValueData, DerKind::kData, DerKind::kData},
};

const AttributeType* known_attribute(std::string_view name) {
  if (name.empty()) return nullptr;
  for (const AttributeType& a : kKnownAttributes) {
    // Most names are four letters long (engine/short_text.h: no memcmp per candidate).
    if (same_short_text(a.name, name)) return &a;
  }
  return nullptr;
}

Status attribute_error(std::string_view name, const std::string& what) {
  return Status::Corruption("item: attribute '" + std::string(name) + "': " + what);
}

std::string expected_kinds(const AttributeType& a) {
  std::string s(der_kind_name(a.kind));
  if (a.other_kind != a.kind) s += " or " + std::string(der_kind_name(a.other_kind));
  return s;
}

}  // namespace

Status check_item_attribute(std::string_view name, const DerValue& value) {
  const AttributeType* a = known_attribute(name);
  if (a == nullptr) return Status::Ok();
  if (value.kind() != a->kind && value.kind() != a->other_kind) {
    return attribute_error(name, "expected " + expected_kinds(*a) + ", got " +
                                     std::string(der_kind_name(value.kind())));
  }
  if (same_short_text(name, attr::kAccessible) && !accessibility_from_pdmn(*value.as_string())) {
    return attribute_error(name, "unknown protection class '" + *value.as_string() + "'");
  }
  const bool is_flag = same_short_text(name, attr::kSynchronizable) ||
                       same_short_text(name, attr::kAppClip) ||
                       same_short_text(name, attr::kTombstone);
  if (is_flag && *value.as_integer() != 0 && *value.as_integer() != 1) {
    return attribute_error(name, "expected 0 or 1, got " + std::to_string(*value.as_integer()));
  }
  return Status::Ok();
}

Item::Item(ItemClass item_class, Accessibility accessible, SecretBytes secret)
    : class_(item_class), secret_(std::move(secret)) {
  set_accessibility(accessible);
}

Result<Item> Item::decode(ItemClass item_class, ByteView der, const DerLimits& limits) {
  KCB_ASSIGN_OR_RETURN(DerDict dict, decode_der_dictionary(der, limits));
  Item item;
  item.class_ = item_class;
  DerValue* secret = dict.find(attr::kValueData);
  // The plaintext copy in the dictionary is wiped on every path, the error paths included.
  struct WipeOnExit {
    DerValue* v;
    ~WipeOnExit() {
      if (v != nullptr && v->as_data() != nullptr) wipe(*v->as_data());
    }
  } wipe_secret{secret};
  for (const DerEntry& e : dict.entries())
    KCB_RETURN_IF_ERROR(check_item_attribute(e.key, e.value));
  if (!dict.contains(attr::kAccessible)) return attribute_error(attr::kAccessible, "missing");
  if (secret == nullptr) return attribute_error(attr::kValueData, "missing");
  item.secret_ = SecretBytes(*secret->as_data());
  wipe(*secret->as_data());
  wipe_secret.v = nullptr;
  dict.erase(attr::kValueData);
  item.attrs_ = std::move(dict);
  return item;
}

Result<SecretBytes> Item::encode() const {
  // The secret beside the attributes rather than in a copy of them (issue 17: the copy was a
  // tenth of a journey's dictionary allocations).
  DerEntry secret{std::string(attr::kValueData), DerValue::Data(secret_.view())};
  Bytes out;
  Status s = encode_der_dictionary_with(attrs_, secret, &out);
  wipe(*secret.value.as_data());
  SecretBytes secret_out(out);
  wipe(out);
  KCB_RETURN_IF_ERROR(s);
  return secret_out;
}

std::string_view Item::string_or_empty(std::string_view name) const {
  const DerValue* v = attrs_.find(name);
  return v == nullptr ? std::string_view() : std::string_view(*v->as_string());
}

int64_t Item::integer_or_zero(std::string_view name) const {
  const DerValue* v = attrs_.find(name);
  return v == nullptr ? 0 : *v->as_integer();
}

ByteView Item::bytes_or_empty(std::string_view name) const {
  const DerValue* v = attrs_.find(name);
  if (v == nullptr) return {};
  if (const std::string* s = v->as_string()) return as_bytes(*s);
  return *v->as_data();
}

DerDate Item::date_or_epoch(std::string_view name) const {
  const DerValue* v = attrs_.find(name);
  return v == nullptr ? DerDate{} : *v->as_date();
}

Accessibility Item::accessibility() const {
  auto a = accessibility_from_pdmn(string_or_empty(attr::kAccessible));
  KCB_ASSERT(a.has_value());  // the class invariant: pdmn is always present and valid
  return *a;
}

bool Item::synchronizable() const {
  return integer_or_zero(attr::kSynchronizable) != 0;
}
int64_t Item::system_bound_flags() const {
  return integer_or_zero(attr::kSystemBound);
}
bool Item::app_clip() const {
  return integer_or_zero(attr::kAppClip) != 0;
}
bool Item::tombstone() const {
  return integer_or_zero(attr::kTombstone) != 0;
}
std::string_view Item::token_id() const {
  return string_or_empty(attr::kTokenId);
}
std::string_view Item::access_group() const {
  return string_or_empty(attr::kAccessGroup);
}
std::string_view Item::label() const {
  return string_or_empty(attr::kLabel);
}
std::string_view Item::server() const {
  return string_or_empty(attr::kServer);
}
std::string_view Item::path() const {
  return string_or_empty(attr::kPath);
}
int64_t Item::protocol() const {
  return integer_or_zero(attr::kProtocol);
}
int64_t Item::port() const {
  return integer_or_zero(attr::kPort);
}
ByteView Item::account() const {
  return bytes_or_empty(attr::kAccount);
}
ByteView Item::service() const {
  return bytes_or_empty(attr::kService);
}
DerDate Item::creation_date() const {
  return date_or_epoch(attr::kCreationDate);
}
DerDate Item::modification_date() const {
  return date_or_epoch(attr::kModificationDate);
}
bool Item::auth_constraint() const {
  return attrs_.contains(attr::kAccessControl);
}

void Item::set_accessibility(Accessibility a) {
  attrs_.set(attr::kAccessible, DerValue::String(std::string(names_of(a).pdmn)));
}
void Item::set_synchronizable(bool sync) {
  attrs_.set(attr::kSynchronizable, DerValue::Integer(sync ? 1 : 0));
}
void Item::set_system_bound_flags(int64_t sysb) {
  attrs_.set(attr::kSystemBound, DerValue::Integer(sysb));
}
void Item::set_app_clip(bool clip) {
  attrs_.set(attr::kAppClip, DerValue::Integer(clip ? 1 : 0));
}
void Item::set_tombstone(bool tomb) {
  attrs_.set(attr::kTombstone, DerValue::Integer(tomb ? 1 : 0));
}
void Item::set_token_id(std::string tkid) {
  if (tkid.empty()) {
    attrs_.erase(attr::kTokenId);
  } else {
    attrs_.set(attr::kTokenId, DerValue::String(std::move(tkid)));
  }
}
void Item::set_access_group(std::string agrp) {
  attrs_.set(attr::kAccessGroup, DerValue::String(std::move(agrp)));
}
void Item::set_label(std::string labl) {
  attrs_.set(attr::kLabel, DerValue::String(std::move(labl)));
}
void Item::set_server(std::string srvr) {
  attrs_.set(attr::kServer, DerValue::String(std::move(srvr)));
}
void Item::set_path(std::string path) {
  attrs_.set(attr::kPath, DerValue::String(std::move(path)));
}
void Item::set_protocol(int64_t ptcl) {
  attrs_.set(attr::kProtocol, DerValue::Integer(ptcl));
}
void Item::set_port(int64_t port) {
  attrs_.set(attr::kPort, DerValue::Integer(port));
}

Status Item::set_account(std::string acct) {
  if (!is_valid_utf8(acct)) return Status::InvalidArgument("item: attribute 'acct': not UTF-8");
  attrs_.set(attr::kAccount, DerValue::String(std::move(acct)));
  return Status::Ok();
}
void Item::set_account_data(Bytes acct) {
  attrs_.set(attr::kAccount, DerValue::Data(std::move(acct)));
}
Status Item::set_service(std::string svce) {
  if (!is_valid_utf8(svce)) return Status::InvalidArgument("item: attribute 'svce': not UTF-8");
  attrs_.set(attr::kService, DerValue::String(std::move(svce)));
  return Status::Ok();
}
void Item::set_service_data(Bytes svce) {
  attrs_.set(attr::kService, DerValue::Data(std::move(svce)));
}
void Item::set_creation_date(DerDate cdat) {
  attrs_.set(attr::kCreationDate, DerValue::Date(cdat));
}
void Item::set_modification_date(DerDate mdat) {
  attrs_.set(attr::kModificationDate, DerValue::Date(mdat));
}

void Item::set_auth_constraint(bool constrained) {
  if (constrained) {
    attrs_.set(attr::kAccessControl, DerValue::Data(as_bytes(kUserPresenceAccessControl)));
  } else {
    attrs_.erase(attr::kAccessControl);
  }
}

Status Item::set_attribute(std::string_view name, DerValue value) {
  if (name == attr::kValueData) {
    return Status::InvalidArgument("item: attribute 'v_Data' is the secret: use set_secret");
  }
  Status s = check_item_attribute(name, value);
  if (!s.ok()) return Status::InvalidArgument(s.message());
  attrs_.set(name, std::move(value));
  return Status::Ok();
}

bool Item::remove_attribute(std::string_view name) {
  if (name == attr::kAccessible) return false;
  return attrs_.erase(name);
}

}  // namespace kcb
