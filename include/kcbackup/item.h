// A keychain item: its class, its attributes under Apple's four-letter names, and its secret
// (`v_Data`). Contract:
//   - Item::decode reads the DER attribute dictionary of a backup or keychain item. Only `pdmn`
//     and `v_Data` are required; every other attribute the engine relies on falls back to a
//     default when absent, and has its type checked when present ("item: attribute 'sync':
//     expected integer, got string"). Unknown attributes are kept and written back unchanged.
//   - An Item always holds well-typed known attributes: setters write the right type, and
//     set_attribute checks a known name's type before accepting it. So the typed accessors never
//     fail.
//   - The secret lives in SecretBytes and is never part of attributes(); encode() returns the
//     whole plaintext dictionary (secret included) as SecretBytes.
// Auth constraint: Apple keeps an item's access control list under `accc`; we only model "reading
// needs user authentication", as the presence of `accc` (data). See docs/der.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kcbackup/bytes.h"
#include "kcbackup/der.h"
#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb {

// Apple's attribute names (keys of the DER dictionary and columns of keychain-2.db).
namespace attr {
inline constexpr std::string_view kAccessible = "pdmn";
inline constexpr std::string_view kSynchronizable = "sync";
inline constexpr std::string_view kSystemBound = "sysb";
inline constexpr std::string_view kAppClip = "clip";    // integer 0/1: added by an App Clip (R10)
inline constexpr std::string_view kTombstone = "tomb";  // integer 0/1: a tombstone (R15)
inline constexpr std::string_view kTokenId = "tkid";
inline constexpr std::string_view kAccessGroup = "agrp";
inline constexpr std::string_view kLabel = "labl";
inline constexpr std::string_view kServer = "srvr";
inline constexpr std::string_view kPath = "path";
inline constexpr std::string_view kProtocol = "ptcl";
inline constexpr std::string_view kPort = "port";
inline constexpr std::string_view kAccount = "acct";
inline constexpr std::string_view kService = "svce";
inline constexpr std::string_view kCreationDate = "cdat";
inline constexpr std::string_view kModificationDate = "mdat";
inline constexpr std::string_view kAccessControl = "accc";
inline constexpr std::string_view kValueData = "v_Data";
}  // namespace attr

// kSecAttrTokenIDSecureEnclave, the `tkid` of a Secure Enclave key.
inline constexpr std::string_view kSecureEnclaveTokenId = "com.apple.setoken";

// The `accc` bytes our writer uses to mark a user-presence constraint. A reader treats any `accc`
// value as a constraint.
inline constexpr std::string_view kUserPresenceAccessControl = "kcb:acl:user-presence";

class Item {
 public:
  // A minimal valid item: class, accessibility (pdmn) and secret; everything else absent.
  Item(ItemClass item_class, Accessibility accessible, SecretBytes secret);

  // Decodes the plaintext attribute dictionary of one item of class `item_class` (the class is
  // not inside the dictionary: it is the table or the backup array the item came from).
  static Result<Item> decode(ItemClass item_class, ByteView der, const DerLimits& limits = {});
  // The canonical DER dictionary, `v_Data` included.
  Result<SecretBytes> encode() const;

  ItemClass item_class() const { return class_; }
  const SecretBytes& secret() const { return secret_; }
  // Every attribute except `v_Data`, sorted by name.
  const DerDict& attributes() const { return attrs_; }

  // Typed accessors; the comment gives the default when the attribute is absent.
  Accessibility accessibility() const;  // pdmn (required)
  bool synchronizable() const;          // sync, 0
  int64_t system_bound_flags() const;   // sysb, 0
  bool system_bound() const { return system_bound_flags() != 0; }
  bool app_clip() const;              // clip, 0
  bool tombstone() const;             // tomb, 0
  std::string_view token_id() const;  // tkid, ""
  bool has_token() const { return !token_id().empty(); }
  std::string_view access_group() const;  // agrp, ""
  std::string_view label() const;         // labl, ""
  std::string_view server() const;        // srvr, ""
  std::string_view path() const;          // path, ""
  int64_t protocol() const;               // ptcl, 0
  int64_t port() const;                   // port, 0
  ByteView account() const;               // acct, empty; the bytes of a string or of data
  ByteView service() const;               // svce, empty; the bytes of a string or of data
  DerDate creation_date() const;          // cdat, the Unix epoch
  DerDate modification_date() const;      // mdat, the Unix epoch
  bool auth_constraint() const;           // accc present

  void set_accessibility(Accessibility a);
  void set_synchronizable(bool sync);
  void set_system_bound_flags(int64_t sysb);
  void set_app_clip(bool clip);
  void set_tombstone(bool tomb);
  void set_token_id(std::string tkid);  // "" removes it
  void set_access_group(std::string agrp);
  void set_label(std::string labl);
  void set_server(std::string srvr);
  void set_path(std::string path);
  void set_protocol(int64_t ptcl);
  void set_port(int64_t port);
  // acct/svce as a string (InvalidArgument if not UTF-8) or as data.
  Status set_account(std::string acct);
  void set_account_data(Bytes acct);
  Status set_service(std::string svce);
  void set_service_data(Bytes svce);
  void set_creation_date(DerDate cdat);
  void set_modification_date(DerDate mdat);
  void set_auth_constraint(bool constrained);
  void set_secret(SecretBytes secret) { secret_ = std::move(secret); }
  // Any attribute by name; a known name must have its type (and, for pdmn, sync, clip and tomb, a
  // valid value). `v_Data` is refused: use set_secret.
  Status set_attribute(std::string_view name, DerValue value);
  // False when absent. `pdmn` cannot be removed.
  bool remove_attribute(std::string_view name);

  bool operator==(const Item& other) const = default;

 private:
  Item() = default;
  std::string_view string_or_empty(std::string_view name) const;
  int64_t integer_or_zero(std::string_view name) const;
  ByteView bytes_or_empty(std::string_view name) const;
  DerDate date_or_epoch(std::string_view name) const;

  ItemClass class_ = ItemClass::kGenp;
  DerDict attrs_;
  SecretBytes secret_;
};

// The check Item::decode applies to one attribute: Ok for unknown names; for known names the
// type (and pdmn/sync value). Exposed so that other readers report attributes the same way.
Status check_item_attribute(std::string_view name, const DerValue& value);

}  // namespace kcb
