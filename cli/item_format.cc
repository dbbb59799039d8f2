#include "cli/item_format.h"

#include <ostream>

#include "kcbackup/device.h"

namespace kcb::cli {

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
      return Json{{"date", der_date_text(*v.as_date())}};
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
