#include "cli/item_format.h"

#include <ctime>
#include <ostream>
#include <string_view>

#include "kcbackup/device.h"
#include "kcbackup/names.h"
#include "kcbackup/utf8.h"

namespace kcb::cli {
namespace {

std::string_view as_text(ByteView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

std::string json_text(ByteView bytes) {
  if (is_valid_utf8(as_text(bytes))) return std::string(as_text(bytes));
  return "0x" + to_hex(bytes);
}

std::string display_text(ByteView bytes) {
  return printable_text(bytes);
}

std::string date_text(DerDate date) {
  const int64_t millis = ((date.unix_millis % 1000) + 1000) % 1000;
  const time_t seconds = static_cast<time_t>((date.unix_millis - millis) / 1000);
  tm parts{};
  if (gmtime_r(&seconds, &parts) == nullptr) return std::to_string(date.unix_millis) + " ms";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(millis));
  return buf;
}

std::string accessible_text(Accessibility a) {
  return std::string(names_of(a).name) + " (" + std::string(names_of(a).pdmn) + ")";
}

std::string key_class_text(uint32_t key_class) {
  const auto a = accessibility_from_key_class(key_class);
  if (!a) return std::to_string(key_class) + " (not a keychain class)";
  return std::to_string(key_class) + " " + std::string(names_of(*a).name);
}

Json der_value_json(const DerValue& v) {
  switch (v.kind()) {
    case DerKind::kNull:
      return nullptr;
    case DerKind::kBoolean:
      return *v.as_boolean();
    case DerKind::kInteger:
      return *v.as_integer();
    case DerKind::kString:
      return json_text(as_bytes(*v.as_string()));
    case DerKind::kData:
      return Json{{"data_hex", to_hex(*v.as_data())}};
    case DerKind::kDate:
      return Json{{"date", date_text(*v.as_date())}};
    case DerKind::kArray: {
      Json out = Json::array();
      for (const DerValue& e : *v.as_array())
        out.push_back(der_value_json(e));
      return out;
    }
    case DerKind::kDictionary: {
      Json out = Json::object();
      for (const DerEntry& e : v.as_dictionary()->entries())
        out[json_text(as_bytes(e.key))] = der_value_json(e.value);
      return out;
    }
  }
  return nullptr;
}

std::string der_value_text(const DerValue& v) {
  switch (v.kind()) {
    case DerKind::kNull:
      return "null";
    case DerKind::kBoolean:
      return *v.as_boolean() ? "true" : "false";
    case DerKind::kInteger:
      return std::to_string(*v.as_integer());
    case DerKind::kString:
      return "\"" + display_text(*v.as_string()) + "\"";
    case DerKind::kData:
      return "<" + to_hex(*v.as_data()) + ">";
    case DerKind::kDate:
      return date_text(*v.as_date());
    case DerKind::kArray: {
      std::string out = "[";
      for (const DerValue& e : *v.as_array())
        out += (out.size() > 1 ? ", " : "") + der_value_text(e);
      return out + "]";
    }
    case DerKind::kDictionary: {
      std::string out = "{";
      for (const DerEntry& e : v.as_dictionary()->entries())
        out += (out.size() > 1 ? ", " : "") + display_text(e.key) + ": " + der_value_text(e.value);
      return out + "}";
    }
  }
  return "?";
}

Json item_json(const Item& item, bool show_secrets) {
  const Traits t = traits_of(item);
  Json out = {{"class", name_of(item.item_class())},
              {"account", json_text(item.account())},
              {"service", json_text(item.service())},
              {"access_group", json_text(as_bytes(item.access_group()))},
              {"accessible", names_of(t.accessible).pdmn},
              {"synchronizable", t.synchronizable},
              {"token", name_of(t.token)},
              {"auth_constraint", t.auth_constraint}};
  if (show_secrets) out["secret_hex"] = to_hex(item.secret().view());
  return out;
}

Json attributes_json(const Item& item, bool show_secrets) {
  Json out = Json::object();
  for (const DerEntry& e : item.attributes().entries())
    out[json_text(as_bytes(e.key))] = der_value_json(e.value);
  if (show_secrets) {
    out[std::string(attr::kValueData)] = Json{{"data_hex", to_hex(item.secret().view())}};
  } else {
    out[std::string(attr::kValueData)] = Json{{"data_bytes", item.secret().size()}};
  }
  return out;
}

Json warnings_json(const std::vector<std::string>& warnings) {
  Json list = Json::array();
  for (const std::string& w : warnings)
    list.push_back(json_text(as_bytes(w)));
  return list;
}

void print_warnings(std::ostream& out, const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings)
    out << "warning: " << display_text(w) << "\n";
}

}  // namespace kcb::cli
