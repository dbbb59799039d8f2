// Keychain item over der_plist: defaults for absent attributes, precise type errors, round trips,
// unknown attributes kept.
#include "kcbackup/item.h"

#include <gtest/gtest.h>

#include <string>

#include "kcbackup/names.h"

namespace kcb {
namespace {

SecretBytes secret_of(std::string_view s) {
  return SecretBytes(as_bytes(s));
}

Bytes encode_dict(const DerDict& d) {
  Bytes out;
  KCB_ASSERT(encode_der_dictionary(d, &out).ok());
  return out;
}

DerDict minimal_dict() {
  DerDict d;
  d.set("pdmn", DerValue::String("cku"));
  d.set("v_Data", DerValue::Data(as_bytes("hunter2")));
  return d;
}

void expect_decode_error(const DerDict& d, std::string_view message) {
  auto r = Item::decode(ItemClass::kGenp, encode_dict(d));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_EQ(r.status().message(), message);
}

TEST(ItemDecode, OnlyPdmnAndSecretGiveDefaults) {
  auto r = Item::decode(ItemClass::kInet, encode_dict(minimal_dict()));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const Item& item = *r;
  EXPECT_EQ(item.item_class(), ItemClass::kInet);
  EXPECT_EQ(item.accessibility(), Accessibility::kAfterFirstUnlockThisDeviceOnly);
  EXPECT_EQ(item.secret(), secret_of("hunter2"));
  EXPECT_FALSE(item.synchronizable());
  EXPECT_FALSE(item.system_bound());
  EXPECT_FALSE(item.has_token());
  EXPECT_FALSE(item.auth_constraint());
  EXPECT_EQ(item.access_group(), "");
  EXPECT_EQ(item.label(), "");
  EXPECT_EQ(item.server(), "");
  EXPECT_EQ(item.path(), "");
  EXPECT_EQ(item.protocol(), 0);
  EXPECT_EQ(item.port(), 0);
  EXPECT_TRUE(item.account().empty());
  EXPECT_TRUE(item.service().empty());
  EXPECT_EQ(item.creation_date(), DerDate{});
  EXPECT_EQ(item.modification_date(), DerDate{});
  // The secret is not an attribute.
  EXPECT_FALSE(item.attributes().contains("v_Data"));
  EXPECT_EQ(item.attributes().size(), 1u);
}

TEST(ItemDecode, EveryPdmnFromTheNameTable) {
  for (Accessibility a : kAllAccessibilities) {
    DerDict d = minimal_dict();
    d.set("pdmn", DerValue::String(std::string(names_of(a).pdmn)));
    auto r = Item::decode(ItemClass::kGenp, encode_dict(d));
    ASSERT_TRUE(r.ok()) << names_of(a).pdmn;
    EXPECT_EQ(r->accessibility(), a);
  }
}

TEST(ItemDecode, MissingRequiredAttributes) {
  DerDict no_pdmn = minimal_dict();
  no_pdmn.erase("pdmn");
  expect_decode_error(no_pdmn, "item: attribute 'pdmn': missing");
  DerDict no_secret = minimal_dict();
  no_secret.erase("v_Data");
  expect_decode_error(no_secret, "item: attribute 'v_Data': missing");
}

TEST(ItemDecode, WrongTypesNameTheAttribute) {
  struct Case {
    const char* name;
    DerValue value;
    const char* message;
  };
  const Case cases[] = {
      {"sync", DerValue::String("1"), "item: attribute 'sync': expected integer, got string"},
      {"sync", DerValue::Integer(2), "item: attribute 'sync': expected 0 or 1, got 2"},
      {"sysb", DerValue::Boolean(true), "item: attribute 'sysb': expected integer, got boolean"},
      {"pdmn", DerValue::Data(Bytes{'a', 'k'}),
       "item: attribute 'pdmn': expected string, got data"},
      {"pdmn", DerValue::String("zz"), "item: attribute 'pdmn': unknown protection class 'zz'"},
      {"tkid", DerValue::Integer(1), "item: attribute 'tkid': expected string, got integer"},
      {"agrp", DerValue::Null(), "item: attribute 'agrp': expected string, got null"},
      {"port", DerValue::String("443"), "item: attribute 'port': expected integer, got string"},
      {"acct", DerValue::Integer(7),
       "item: attribute 'acct': expected string or data, got integer"},
      {"svce", DerValue::Array({}), "item: attribute 'svce': expected string or data, got array"},
      {"cdat", DerValue::Integer(0), "item: attribute 'cdat': expected date, got integer"},
      {"accc", DerValue::Boolean(true), "item: attribute 'accc': expected data, got boolean"},
      {"v_Data", DerValue::String("s"), "item: attribute 'v_Data': expected data, got string"},
  };
  for (const Case& c : cases) {
    DerDict d = minimal_dict();
    d.set(c.name, c.value);
    expect_decode_error(d, c.message);
  }
}

TEST(ItemDecode, AccountAndServiceAcceptStringOrData) {
  DerDict d = minimal_dict();
  d.set("acct", DerValue::String("alice"));
  d.set("svce", DerValue::Data(Bytes{0x00, 0xff}));
  auto r = Item::decode(ItemClass::kGenp, encode_dict(d));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(to_hex(r->account()), to_hex(as_bytes("alice")));
  EXPECT_EQ(to_hex(r->service()), "00ff");
}

TEST(ItemDecode, DerErrorsPassThrough) {
  Bytes b = encode_dict(minimal_dict());
  b.push_back(0);
  auto r = Item::decode(ItemClass::kGenp, b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("der: offset"), std::string::npos);
}

TEST(ItemRoundTrip, TypedSettersAndUnknownAttributes) {
  Item item(ItemClass::kInet, Accessibility::kWhenUnlocked, secret_of("pw"));
  item.set_synchronizable(true);
  item.set_system_bound_flags(0);
  item.set_token_id(std::string(kSecureEnclaveTokenId));
  item.set_access_group("TEAM.com.example");
  item.set_label("Example");
  item.set_server("example.com");
  item.set_path("/login");
  item.set_protocol(0x68747470);  // 'http'
  item.set_port(443);
  ASSERT_TRUE(item.set_account("bob").ok());
  item.set_service_data(Bytes{1, 2, 3});
  item.set_creation_date(der_date_from_unix_seconds(1'700'000'000));
  item.set_modification_date(DerDate{1'700'000'000'123});
  item.set_auth_constraint(true);
  ASSERT_TRUE(item.set_attribute("desc", DerValue::String("unknown to us")).ok());
  ASSERT_TRUE(item.set_attribute("UUID", DerValue::Data(Bytes(16, 0x42))).ok());

  auto bytes = item.encode();
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  auto back = Item::decode(ItemClass::kInet, bytes->view());
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, item);
  EXPECT_TRUE(back->synchronizable());
  EXPECT_TRUE(back->has_token());
  EXPECT_TRUE(back->auth_constraint());
  EXPECT_EQ(back->port(), 443);
  EXPECT_EQ(back->creation_date().unix_millis, 1'700'000'000'000);
  EXPECT_EQ(*back->attributes().find("desc"), DerValue::String("unknown to us"));
  // Canonical: re-encoding the decoded item gives the same bytes.
  EXPECT_EQ(back->encode()->view().size(), bytes->view().size());
  EXPECT_TRUE(*back->encode() == *bytes);
}

TEST(ItemSetters, RefuseWrongTypesAndTheSecret) {
  Item item(ItemClass::kGenp, Accessibility::kAlways, secret_of("x"));
  EXPECT_EQ(item.set_attribute("sync", DerValue::Integer(5)).code(), Code::kInvalidArgument);
  EXPECT_EQ(item.set_attribute("v_Data", DerValue::Data(Bytes{1})).code(), Code::kInvalidArgument);
  EXPECT_EQ(item.set_account("\xff").code(), Code::kInvalidArgument);
  EXPECT_FALSE(item.remove_attribute("pdmn"));
  EXPECT_EQ(item.accessibility(), Accessibility::kAlways);
  item.set_auth_constraint(true);
  EXPECT_TRUE(item.remove_attribute("accc"));
  EXPECT_FALSE(item.auth_constraint());
  item.set_token_id("");
  EXPECT_FALSE(item.attributes().contains("tkid"));
}

}  // namespace
}  // namespace kcb
