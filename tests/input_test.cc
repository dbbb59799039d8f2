// The strict document reader (input/document.h): each kind of refusal with the path it names, the
// same tree from JSON, XML and binary property lists, annotations dropped only when asked, the
// typed getters and "did you mean", and no exception for any truncation or byte flip.
#include "input/document.h"
#include "tests/binary_plist_bytes.h"
#include "tests/plist_text.h"

#include <plist/plist.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace kcb::input {
namespace {

Result<Tree> json(const std::string& text, Limits limits = {}) {
  return read_json(as_bytes(text), limits);
}
Result<Tree> document(const std::string& bytes, Limits limits = {}) {
  return read_document(as_bytes(bytes), limits);
}

std::string xml_plist(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">" + body + "</plist>";
}

using testing_plist::binary_from_xml;

// The refusal's code and its whole message.
void expect_refused(const Result<Tree>& r, Code code, const std::string& message) {
  ASSERT_FALSE(r.ok()) << r->dump();
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  EXPECT_EQ(r.status().message(), message);
}

TEST(InputRefuses, DocumentLargerThanTheCap) {
  Limits small;
  small.max_bytes = 8;
  expect_refused(json(R"({"a": true})", small), Code::kResourceExhausted, "larger than 8 bytes");
  expect_refused(document(xml_plist("<dict/>"), small), Code::kResourceExhausted,
                 "larger than 8 bytes");
  EXPECT_TRUE(json(R"({"a":1})", small).ok());
}

TEST(InputRefuses, EmptyDocument) {
  expect_refused(json(""), Code::kInvalidArgument, "document: empty");
  expect_refused(document(" \n\t\r\n"), Code::kInvalidArgument, "document: empty");
}

TEST(InputRefuses, NestingPastTheCapNamingWhere) {
  Limits limits;
  limits.max_nesting = 3;
  EXPECT_TRUE(json(R"({"a": [{}]})", limits).ok());
  expect_refused(json(R"({"a": [{"b": []}]})", limits), Code::kResourceExhausted,
                 "a[0].b: nested deeper than 3");
  expect_refused(json(std::string(100000, '[') + std::string(100000, ']')),
                 Code::kResourceExhausted,
                 "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper than 16");
  expect_refused(document(xml_plist("<dict><key>a</key><array><dict><key>b</key><array/>"
                                    "<key>c</key><array><true/></array></dict></array></dict>"),
                          limits),
                 Code::kResourceExhausted, "a[0].c: nested deeper than 3");
}

TEST(InputRefuses, JsonSyntaxErrorWithLineAndColumn) {
  expect_refused(json("{\n  \"a\": [1,\n  ]\n}"), Code::kInvalidArgument,
                 "invalid JSON: parse error at line 3, column 3: syntax error while parsing value "
                 "- unexpected ']'; expected '[', '{', or a literal");
  expect_refused(json("{\n \"a\": 1\n \"b\": 2}"), Code::kInvalidArgument,
                 "invalid JSON: parse error at line 3, column 4: syntax error while parsing object "
                 "- unexpected string literal; expected '}'");
  expect_refused(json(R"({"a": [)"), Code::kInvalidArgument,
                 "invalid JSON: parse error at line 1, column 8: syntax error while parsing value "
                 "- unexpected end of input; expected '[', '{', or a literal");
  expect_refused(json(R"({"a": 1} {})"), Code::kInvalidArgument,
                 "invalid JSON: parse error at line 1, column 10: syntax error while parsing value "
                 "- unexpected '{'; expected end of input");
}

TEST(InputRefuses, IllFormedUtf8InJsonShownAsHex) {
  const auto r = json("{\"a\": \"x\xff\"}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("invalid JSON: parse error at line 1, column 9: syntax "
                                       "error while parsing value - invalid string: ill-formed "
                                       "UTF-8 byte; last read: '\"x\\xff'",
                                       0),
            0u)
      << r.status().message();
}

TEST(InputRefuses, NulByteAndNulCharacter) {
  expect_refused(json(std::string("{\"a\": 1}\0", 9)), Code::kInvalidArgument,
                 "invalid JSON: a NUL byte at byte 8");
  expect_refused(json(R"({"items": [{"name": "a\u0000b"}]})"), Code::kInvalidArgument,
                 "items[0].name: a string with a NUL character");
  expect_refused(json(R"({"items": [{"n\u0000": 1}]})"), Code::kInvalidArgument,
                 "items[0]: a key with a NUL character");
}

// libplist keeps a raw NUL byte inside an XML <string> (it refuses the reference "&#0;" itself),
// so the XML route needs its own refusal; the binary route has one in parse_plist.
TEST(InputRefuses, NulByteInsideAPropertyListString) {
  const std::string raw =
      xml_plist(std::string("<dict><key>items</key><array><dict><key>name"
                            "</key><string>a\0b</string></dict></array>"
                            "</dict>",
                            92));
  const size_t at = raw.find('\0');
  ASSERT_NE(at, std::string::npos);
  expect_refused(document(raw), Code::kInvalidArgument,
                 "property list: XML property list: a NUL byte at byte " + std::to_string(at));
  expect_refused(document(binary_from_xml(raw)), Code::kInvalidArgument,
                 "property list: invalid binary property list: object 5: string with an embedded "
                 "NUL");
}

TEST(InputRefuses, KeyGivenTwiceInJsonNamingPathAndParent) {
  expect_refused(json(R"({"items": [], "items": []})"), Code::kInvalidArgument,
                 "items: key 'items' appears twice in the document; give each key once");
  expect_refused(
      json(R"({"items": [{"name": "a"}, {"expect": {"survives": [], "survives": []}}]})"),
      Code::kInvalidArgument,
      "items[1].expect.survives: key 'survives' appears twice in items[1].expect; give each key "
      "once");
  // An escape spells the same key.
  expect_refused(json(R"({"name": 1, "n\u0061me": 2})"), Code::kInvalidArgument,
                 "name: key 'name' appears twice in the document; give each key once");
  // The same key in two objects is two keys.
  EXPECT_TRUE(json(R"({"a": {"k": 1}, "b": {"k": 1}})").ok());
}

TEST(InputRefuses, KeyGivenTwiceInXmlPlistAsLibplistWouldDecodeIt) {
  for (const std::string second : {"<key>b</key>", "<key>&#x62;</key>", "<key><![CDATA[b]]></key>",
                                   "<key><!-- </key> -->b</key>"}) {
    expect_refused(document(xml_plist("<dict><key>a</key><dict><key>b</key><true/>" + second +
                                      "<false/></dict></dict>")),
                   Code::kInvalidArgument, "a.b: key 'b' appears twice in a; give each key once");
  }
  // A key inside a comment or CDATA text is not a key.
  EXPECT_TRUE(document(xml_plist("<dict><key>b</key><true/><!-- <key>b</key> --><key>c</key>"
                                 "<string><![CDATA[<key>b</key>]]></string></dict>"))
                  .ok());
}

// {"a": {"n": "x", "n": "y"}}: libplist cannot write one, so the bytes are laid out here.
std::string binary_plist_with_a_key_twice() {
  const std::vector<std::string> objects = {
      std::string("\xD1\x01\x02", 3),          // 0: {1: 2}
      std::string("\x51") + "a",               // 1
      std::string("\xD2\x03\x03\x04\x05", 5),  // 2: {3: 4, 3: 5}
      std::string("\x51") + "n",               // 3
      std::string("\x51") + "x",               // 4
      std::string("\x51") + "y",               // 5
  };
  return test::binary_plist_bytes(objects);
}

TEST(InputRefuses, KeyGivenTwiceInBinaryPlist) {
  // The engine's bounded reader refuses it before libplist; it names the object, not the path.
  expect_refused(document(binary_plist_with_a_key_twice()), Code::kInvalidArgument,
                 "property list: invalid binary property list: object 2: dictionary key 'n' "
                 "appears twice");
}

// A dictionary of 18 keys (past the in-place check for small ones, so the sorted check decides)
// whose last key spells "k03" again as its own object: in ASCII, or in UTF-16.
std::string binary_plist_with_a_large_dictionary_repeating(bool utf16) {
  constexpr size_t kKeys = 18;
  std::vector<std::string> objects;
  std::string dict = "\xDF\x10";
  dict += static_cast<char>(kKeys);
  for (size_t i = 0; i < kKeys; ++i)
    dict += static_cast<char>(2 + i);  // key references
  for (size_t i = 0; i < kKeys; ++i)
    dict += '\x01';  // every value is object 1
  objects.push_back(dict);
  objects.push_back(std::string("\x51") + "v");
  for (size_t i = 0; i + 1 < kKeys; ++i) {
    const char name[] = {'k', static_cast<char>('0' + i / 10), static_cast<char>('0' + i % 10)};
    objects.push_back(std::string("\x53") + std::string(name, 3));
  }
  objects.push_back(utf16 ? std::string("\x63\0k\0"
                                        "0\0"
                                        "3",
                                        7)
                          : std::string("\x53k03"));
  return test::binary_plist_bytes(objects);
}

TEST(InputRefuses, KeyRepeatedAsAnotherObjectInALargeBinaryDictionary) {
  for (const bool utf16 : {false, true}) {
    expect_refused(document(binary_plist_with_a_large_dictionary_repeating(utf16)),
                   Code::kInvalidArgument,
                   "property list: invalid binary property list: object 0: dictionary key 'k03' "
                   "appears twice");
  }
}

TEST(InputRefuses, NumberNoDoubleHolds) {
  expect_refused(json(R"({"items": [{"x-n": 1e400}]})"), Code::kInvalidArgument,
                 "items[0].x-n: number overflow parsing '1e400' (a JSON number must fit a double)");
  expect_refused(json(R"({"a": [1, -2e308]})"), Code::kInvalidArgument,
                 "a[1]: number overflow parsing '-2e308' (a JSON number must fit a double)");
  expect_refused(json("1e400"), Code::kInvalidArgument,
                 "document: number overflow parsing '1e400' (a JSON number must fit a double)");
  EXPECT_TRUE(json(R"({"a": 1.7976931348623157e308, "b": 18446744073709551616})").ok());
}

TEST(InputRefuses, PlistTextThatIsNotUtf8) {
  expect_refused(document(xml_plist("<dict><key>a</key><array><string>x\xff</string></array>"
                                    "</dict>")),
                 Code::kInvalidArgument, "a[0]: a string that is not UTF-8");
  expect_refused(document(xml_plist("<dict><key>a\xc3</key><true/></dict>")),
                 Code::kInvalidArgument, "a\\xc3: a key that is not UTF-8");
}

TEST(InputRefuses, PlistTypesWithoutAJsonForm) {
  expect_refused(document(xml_plist("<dict><key>a</key><data>AAAA</data></dict>")),
                 Code::kInvalidArgument,
                 "a: a property list <date>, <data> or UID is not accepted here");
  expect_refused(document(xml_plist("<array><date>2024-01-01T00:00:00Z</date></array>")),
                 Code::kInvalidArgument,
                 "[0]: a property list <date>, <data> or UID is not accepted here");
}

TEST(InputRefuses, PropertyListLibplistCannotRead) {
  const auto r = document("<plist><dict><key>a</key><array>");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().to_string();
  EXPECT_EQ(r.status().message().rfind("property list: ", 0), 0u) << r.status().message();
}

// #16: "XML syntax errors have no line/column". libplist 2.2 says only that it could not parse;
// the reader says where the structure breaks.
TEST(InputRefuses, XmlSyntaxErrorWithLineAndColumn) {
  const std::string head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n";
  expect_refused(document(head + "<dict>\n  <key>a</key>\n  <true/>\n</array>\n</plist>"),
                 Code::kInvalidArgument,
                 "property list: XML syntax error at line 6, column 1: expected </dict> (for the "
                 "<dict> at line 3, column 1), found </array>");
  expect_refused(document(head + "<dict><key>é</key>\t<strin>x</strin></dict></plist>"),
                 Code::kInvalidArgument,
                 "property list: XML syntax error at line 3, column 20: unknown element <strin> (a "
                 "property list has plist, dict, array, key, string, integer, real, date, data, "
                 "true and false)");
  expect_refused(document(head + "<dict><key>a</key><string>x</dict></plist>"),
                 Code::kInvalidArgument,
                 "property list: XML syntax error at line 3, column 28: expected </string> (for "
                 "the <string> at line 3, column 19), found </dict>");
  expect_refused(
      document(head + "<dict>\r\n<key>a</key>\r\n<string>x</string>\r\nbad</dict>"),
      Code::kInvalidArgument,
      "property list: XML syntax error at line 6, column 1: text directly inside <dict>");
  expect_refused(document(head + "<dict><key>a</key><string>x</string>\n<key"),
                 Code::kInvalidArgument,
                 "property list: XML syntax error at line 4, column 1: '<' with no '>'");
  expect_refused(document(head + "<dict><key>a</key>\n<array><string>x</string>"),
                 Code::kInvalidArgument,
                 "property list: XML syntax error at line 4, column 26: the document ends inside "
                 "<array> (opened at line 4, column 1)");
}

// #16: "an XML plist with a UTF-8 BOM is refused": editors write one; the tree is the same.
TEST(InputReads, XmlPlistWithAUtf8BomIsRead) {
  const std::string xml = xml_plist("<dict><key>a</key><true/></dict>");
  const auto plain = document(xml);
  const auto with_bom = document("\xEF\xBB\xBF" + xml);
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  ASSERT_TRUE(with_bom.ok()) << with_bom.status().to_string();
  EXPECT_EQ(*with_bom, *plain);
  const auto json_bom = document("\xEF\xBB\xBF{\"a\": true}");
  ASSERT_TRUE(json_bom.ok()) << json_bom.status().to_string();
  EXPECT_EQ(*json_bom, *plain);
}

// Where containers start, for SARIF regions: lines end at LF, CR LF or CR; columns count code
// points (é is one, a tab is one); a BOM is not counted; a binary plist has no positions.
TEST(InputPositions, ContainersStartWhereTheTextSays) {
  Positions p;
  const std::string text =
      "\xEF\xBB\xBF{\"é\": \"ключ\", \"items\": [\r\n\t{\"a\": [1, {}]},\r  {}, 2, \"[{\", {}\n]}";
  ASSERT_TRUE(read_document(as_bytes(text), {}, &p).ok());
  const std::map<std::string, std::pair<size_t, size_t>> want = {
      {"", {1, 1}},           {"items", {1, 24}},         {"items[0]", {2, 2}},
      {"items[0].a", {2, 8}}, {"items[0].a[1]", {2, 12}}, {"items[1]", {3, 3}},
      {"items[4]", {3, 16}}};
  std::map<std::string, std::pair<size_t, size_t>> got;
  for (const auto& [path, at] : p.by_path)
    got[path] = {at.line, at.column};
  EXPECT_EQ(got, want);

  Positions x;
  const std::string plist =
      "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<plist>\n<dict>\n\t<key>items</key>"
      "<array>\n\t\t<dict/>\n\t\t<dict><key>é</key><array/></dict></array>\n"
      "</dict></plist>";
  ASSERT_TRUE(read_document(as_bytes(plist), {}, &x).ok());
  got.clear();
  for (const auto& [path, at] : x.by_path)
    got[path] = {at.line, at.column};
  EXPECT_EQ(got, (std::map<std::string, std::pair<size_t, size_t>>{{"", {3, 1}},
                                                                   {"items", {4, 18}},
                                                                   {"items[0]", {5, 3}},
                                                                   {"items[1]", {6, 3}},
                                                                   {"items[1].é", {6, 21}}}));

  Positions none;
  const auto binary = binary_from_xml(xml_plist("<dict><key>items</key><array/></dict>"));
  ASSERT_TRUE(read_document(as_bytes(binary), {}, &none).ok());
  EXPECT_TRUE(none.by_path.empty());

  Positions capped;
  capped.max_entries = 2;
  ASSERT_TRUE(read_document(as_bytes(text), {}, &capped).ok());
  EXPECT_EQ(capped.by_path.size(), 2u);  // the first two in document order
  EXPECT_NE(capped.find("items"), nullptr);
}

TEST(InputReads, TheSameTreeFromJsonXmlAndBinaryPlist) {
  const std::string xml = xml_plist(
      "<dict><key>items</key><array><dict><key>name</key><string>a é</string>"
      "<key>sync</key><true/><key>n</key><integer>7</integer><key>r</key><real>1.5</real></dict>"
      "</array><key>empty</key><dict/></dict>");
  const auto from_json =
      json(R"({"items": [{"name": "a é", "sync": true, "n": 7, "r": 1.5}], "empty": {}})");
  ASSERT_TRUE(from_json.ok()) << from_json.status().to_string();
  const auto from_xml = document(xml);
  ASSERT_TRUE(from_xml.ok()) << from_xml.status().to_string();
  const auto from_binary = document(binary_from_xml(xml));
  ASSERT_TRUE(from_binary.ok()) << from_binary.status().to_string();
  EXPECT_EQ(*from_xml, *from_json);
  EXPECT_EQ(*from_binary, *from_json);
  // Keys keep the document's order.
  EXPECT_EQ(from_json->begin().key(), "items");
}

TEST(InputReads, JsonTextOnlyWhenAskedForJson) {
  expect_refused(json(xml_plist("<dict/>")), Code::kInvalidArgument,
                 "invalid JSON: parse error at line 1, column 1: syntax error while parsing value "
                 "- invalid literal; last read: '<'");
  EXPECT_TRUE(document(xml_plist("<dict/>")).ok());
}

TEST(InputReads, AnnotationsDroppedOnlyWhenAsked) {
  const std::string text =
      R"({"comment": {"a": [1, null]}, "items": [{"name": "a", "x-n": 2, "expect": {"comment": 1}}]})";
  Limits drop;
  drop.drop_annotations = true;
  const auto dropped = json(text, drop);
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, Tree::parse(R"({"items": [{"name": "a", "expect": {}}]})"));
  const auto kept = json(text);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, Tree::parse(text));
  // Still checked: twice, and numbers.
  expect_refused(json(R"({"comment": 1, "comment": 2})", drop), Code::kInvalidArgument,
                 "comment: key 'comment' appears twice in the document; give each key once");
  expect_refused(json(R"({"x-a": 1e400})", drop), Code::kInvalidArgument,
                 "x-a: number overflow parsing '1e400' (a JSON number must fit a double)");
  // In a plist an annotation may hold what nothing else may.
  const std::string plist = xml_plist(
      "<dict><key>x-built</key><date>2024-01-01T00:00:00Z</date><key>a</key><dict>"
      "<key>comment</key><data>AAAA</data></dict></dict>");
  const auto plist_dropped = document(plist, drop);
  ASSERT_TRUE(plist_dropped.ok()) << plist_dropped.status().to_string();
  EXPECT_EQ(*plist_dropped, Tree::parse(R"({"a": {}})"));
  EXPECT_FALSE(document(plist).ok());
}

constexpr std::string_view kItemFields[] = {"name", "class", "accessible", "synchronizable"};

TEST(InputFields, UnknownFieldSuggestsTheNearest) {
  const Tree item = Tree::parse(R"({"name": "a", "acessible": "ak"})");
  const Status s = check_fields(item, "items[2]", kItemFields);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "items[2].acessible: unknown field (did you mean 'accessible'?); expected one of: "
            "name, class, accessible, synchronizable");
  EXPECT_EQ(check_fields(Tree::parse(R"({"colour": 1})"), "", kItemFields, "an item").message(),
            "colour: unknown field; an item takes name, class, accessible, synchronizable");
  EXPECT_EQ(check_fields(Tree::parse(R"({"synchronisable": 1})"), "", kItemFields).message(),
            "synchronisable: unknown field (did you mean 'synchronizable'?); expected one of: "
            "name, class, accessible, synchronizable");
  EXPECT_TRUE(check_fields(Tree::parse(R"({"name": 1, "class": 2})"), "x", kItemFields).ok());
  EXPECT_EQ(check_fields(Tree::parse("[]"), "items[0]", kItemFields).message(),
            "items[0]: expected an object, got an array");
}

TEST(InputFields, UnknownOptionSuggestsTheNearestOrListsAFew) {
  constexpr std::string_view kFew[] = {"--help", "--format", "--version"};
  EXPECT_EQ(unknown_option_message("--frmat", kFew),
            "unknown option '--frmat' (did you mean '--format'?)");
  EXPECT_EQ(unknown_option_message("-V", kFew), "unknown option '-V' (did you mean '--version'?)");
  EXPECT_EQ(unknown_option_message("--colour", kFew),
            "unknown option '--colour'; the options here are --help, --format, --version");
  // Two long options start with the letter: no guess; more than four names: no list.
  constexpr std::string_view kMany[] = {"--help", "--format", "--file", "--seed", "--journey"};
  EXPECT_EQ(unknown_option_message("-f", kMany), "unknown option '-f'");
  EXPECT_EQ(unknown_option_message("-J", kMany), "unknown option '-J' (did you mean '--journey'?)");
}

TEST(InputFields, TypedGettersNameThePath) {
  const Tree doc = Tree::parse(R"({"s": "abcd", "b": true, "n": 7, "a": [], "z": null})");
  EXPECT_EQ(*get_string(doc["s"], "s", 4), "abcd");
  EXPECT_EQ(get_string(doc["s"], "items[0].s", 3).status().message(),
            "items[0].s: longer than 3 bytes");
  EXPECT_EQ(get_string(doc["n"], "items[0].name", 8).status().message(),
            "items[0].name: expected a string, got a number");
  EXPECT_EQ(*get_bool(doc["b"], "b"), true);
  EXPECT_EQ(get_bool(doc["s"], "x.b").status().message(),
            "x.b: expected a boolean (true or false), got a string");
  EXPECT_TRUE(expect_array(doc["a"], "a").ok());
  EXPECT_EQ(expect_array(doc["z"], "a", "an array of names").message(),
            "a: expected an array of names, got null");
  EXPECT_EQ(expect_object(doc["a"], "").message(), "document: expected an object, got an array");
  EXPECT_EQ(index_path(child_path("items", "x"), 3), "items.x[3]");
  EXPECT_EQ(child_path("", "items"), "items");
}

// Hostile bytes never throw: every prefix and every single-byte change of a document that
// exercises each path through the readers.
TEST(InputReads, NoExceptionForAnyTruncationOrFlippedByte) {
  const std::string xml = xml_plist(
      "<dict><key>a</key><array><string>x</string><integer>1</integer><real>2.5</real>"
      "<dict><key>&#x62;</key><true/></dict></array></dict>");
  const std::vector<std::string> docs = {
      R"({"a": [1, -2.5e3, "x\u00e9", true, null, {"b": {}}], "comment": "c"})", xml,
      binary_from_xml(xml)};
  Limits drop;
  drop.drop_annotations = true;
  size_t refused = 0;
  for (const std::string& doc : docs) {
    for (size_t n = 0; n <= doc.size(); ++n) {
      EXPECT_NO_THROW(refused += document(doc.substr(0, n), drop).ok() ? 0 : 1);
    }
    for (size_t i = 0; i < doc.size(); ++i) {
      for (const char flip : {'\0', '\xff', '"', '<', '{', '\x80'}) {
        std::string changed = doc;
        changed[i] = flip;
        EXPECT_NO_THROW(refused += document(changed, drop).ok() ? 0 : 1);
        EXPECT_NO_THROW(refused += json(changed).ok() ? 0 : 1);
      }
    }
  }
  EXPECT_GT(refused, 0u);
}

}  // namespace
}  // namespace kcb::input
