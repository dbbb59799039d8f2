// engine/manifest_db.h: fileID's known answer, the round trip through sqlite3_serialize /
// sqlite3_deserialize, Apple's schema text, and the hostile catalog: garbage bytes, schemas with
// a trigger, a view named Files, a virtual or wrongly typed Files, wrong value types, a row whose
// fileID does not match, and more rows than the cap. Each is refused with the row and column.
#include "engine/manifest_db.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "engine/mbfile.h"
#include "engine/setup_profile.h"

namespace kcb {
namespace {

// Apple's CREATE statements as real backups hold them (see engine/manifest_db.cc).
constexpr std::string_view kAppleSchema =
    "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, "
    "file BLOB);"
    "CREATE INDEX FilesDomainIdx ON Files(domain);"
    "CREATE INDEX FilesRelativePathIdx ON Files(relativePath);"
    "CREATE INDEX FilesFlagsIdx ON Files(flags);"
    "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);";

// A database image made by running `sql` on an empty in-memory database: how the tests forge
// the files a hostile backup could hold.
Bytes db_from_sql(const std::string& sql) {
  sqlite3* db = nullptr;
  KCB_ASSERT(sqlite3_open(":memory:", &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << (err ? err : "?");
    sqlite3_free(err);
  }
  sqlite3_int64 size = 0;
  unsigned char* image = sqlite3_serialize(db, "main", &size, 0);
  KCB_ASSERT(image != nullptr);
  Bytes out(image, image + size);
  sqlite3_free(image);
  sqlite3_close(db);
  return out;
}

std::string row_sql(std::string_view file_id, std::string_view domain, std::string_view path,
                    std::string_view flags = "1", std::string_view file = "x'00'") {
  return "INSERT INTO Files VALUES ('" + std::string(file_id) + "','" + std::string(domain) +
         "','" + std::string(path) + "'," + std::string(flags) + "," + std::string(file) + ");";
}

std::string keychain_row(std::string_view flags = "1", std::string_view file = "x'00'") {
  return row_sql(file_id_of(kKeychainDomain, kKeychainRelativePath), kKeychainDomain,
                 kKeychainRelativePath, flags, file);
}

std::string error_of(const Result<ManifestDb>& r) {
  return r.ok() ? "(accepted)" : r.status().to_string();
}

ManifestDb sample() {
  MBFile keychain;
  keychain.relative_path = std::string(kKeychainRelativePath);
  keychain.protection_class = 1;
  keychain.encryption_key = FileEncryptionKey{1, Bytes(40, 0x11)};
  MBFile folder;
  folder.relative_path = "Documents";
  folder.mode = 040755;
  ManifestDb m;
  m.files.push_back({std::string(kKeychainDomain), std::string(kKeychainRelativePath),
                     kManifestFile, encode_mbfile(keychain)});
  m.files.push_back(
      {"AppDomain-com.example.app", "Documents", kManifestDirectory, encode_mbfile(folder)});
  m.files.push_back({"AppDomain-com.example.app", "Documents/ü", kManifestSymlink, Bytes()});
  m.properties.push_back({"kcbackup", Bytes{1, 2, 3}});
  return m;
}

// The reader's table of fileIDs (also OpenedBackup's lookup): every digest found at the row it
// was inserted with, through every growth; a second insert of a digest is refused and changes
// nothing; digests that share their first eight bytes (the hash) are told apart.
TEST(FileDigestIndex, FindsEveryRowThroughGrowthAndRefusesTwins) {
  FileDigestIndex index;
  EXPECT_FALSE(index.find(file_digest_of("d", "p")).has_value());
  std::vector<FileDigest> digests;
  for (size_t i = 0; i < 5000; ++i)
    digests.push_back(file_digest_of("AppDomain-x", "f" + std::to_string(i)));
  for (size_t i = 0; i < digests.size(); ++i)
    ASSERT_TRUE(index.insert(digests[i], i)) << i;
  EXPECT_EQ(index.size(), digests.size());
  for (size_t i = 0; i < digests.size(); ++i) {
    ASSERT_EQ(index.find(digests[i]), std::optional<size_t>(i)) << i;
    EXPECT_FALSE(index.insert(digests[i], 99999)) << i;
  }
  EXPECT_EQ(index.size(), digests.size());
  EXPECT_EQ(index.find(digests[7]), std::optional<size_t>(7));  // the refused twin changed nothing
  EXPECT_FALSE(index.find(file_digest_of("AppDomain-x", "f5000")).has_value());

  FileDigestIndex same_hash;
  FileDigest a{}, b{};
  b[19] = 1;  // equal first eight bytes: one probe chain
  ASSERT_TRUE(same_hash.insert(a, 0));
  ASSERT_TRUE(same_hash.insert(b, 1));
  EXPECT_EQ(same_hash.find(a), std::optional<size_t>(0));
  EXPECT_EQ(same_hash.find(b), std::optional<size_t>(1));
  FileDigest c = b;
  c[18] = 1;
  EXPECT_FALSE(same_hash.find(c).has_value());
  same_hash.reserve(1000);  // a rehash keeps every entry
  EXPECT_EQ(same_hash.find(b), std::optional<size_t>(1));
  EXPECT_EQ(same_hash.size(), 2u);
}

TEST(ManifestDb, FileIdKnownAnswer) {
  // formats.md: the keychain's blob lives at 51/51a4616e576dd33cd2abadfea874eb8ff246bf0e.
  EXPECT_EQ(file_id_of("KeychainDomain", "keychain-backup.plist"),
            "51a4616e576dd33cd2abadfea874eb8ff246bf0e");
  // sha1("HomeDomain-") computed with `printf %s HomeDomain- | sha1sum`.
  EXPECT_EQ(file_id_of("HomeDomain", ""), "70765829101933f25994c71bbee6dfd685535bff");
}

TEST(ManifestDb, RoundTrips) {
  const ManifestDb m = sample();
  auto bytes = write_manifest_db(m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  auto back = read_manifest_db(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, m);
  auto record = decode_mbfile(back->files[0].file);
  ASSERT_TRUE(record.ok()) << record.status().to_string();
  EXPECT_EQ(record->encryption_key->wrapped_key, Bytes(40, 0x11));
  auto empty = write_manifest_db({});
  ASSERT_TRUE(empty.ok());
  auto empty_back = read_manifest_db(*empty);
  ASSERT_TRUE(empty_back.ok()) << empty_back.status().to_string();
  EXPECT_TRUE(empty_back->files.empty());
}

TEST(ManifestDb, WritesApplesSchemaAndFileIds) {
  auto bytes = write_manifest_db(sample());
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(std::string(bytes->begin(), bytes->begin() + 16), std::string("SQLite format 3\0", 16));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  auto* copy = static_cast<unsigned char*>(sqlite3_malloc64(bytes->size()));
  std::copy(bytes->begin(), bytes->end(), copy);
  ASSERT_EQ(sqlite3_deserialize(db, "main", copy, static_cast<sqlite3_int64>(bytes->size()),
                                static_cast<sqlite3_int64>(bytes->size()),
                                SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY),
            SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master "
                               "WHERE sql IS NOT NULL ORDER BY rowid)",
                               -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))) + ";",
            kAppleSchema);
  sqlite3_finalize(s);
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT fileID FROM Files WHERE domain = 'KeychainDomain'", -1,
                               &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)),
               "51a4616e576dd33cd2abadfea874eb8ff246bf0e");
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST(ManifestDb, ReadsADatabaseInWalModeAndOtherSpacing) {
  // Real Manifest.db files are WAL-mode (header bytes 18 and 19 are 2), and another writer may
  // space and case the same CREATE statements differently. SQLite keeps the text from the name
  // on (it writes "CREATE TABLE " itself), so the differences are after it: tabs, CR LF, several
  // spaces and lower case.
  std::string schema(kAppleSchema);
  const std::string_view typed = "CREATE TABLE Files (fileID TEXT PRIMARY KEY,";
  ASSERT_EQ(schema.find(typed), 0u);
  schema.replace(0, typed.size(), "create   table Files\t\r\n(fileID text  primary\nkey,");
  Bytes bytes = db_from_sql(schema + keychain_row());
  bytes[18] = bytes[19] = 2;
  auto back = read_manifest_db(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  ASSERT_EQ(back->files.size(), 1u);
  EXPECT_EQ(back->files[0].domain, kKeychainDomain);
}

TEST(ManifestDb, WriterRefusesTheSamePathTwice) {
  ManifestDb m = sample();
  m.files.push_back(m.files[0]);
  auto bytes = write_manifest_db(m);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bytes.status().message().find("51a4616e576dd33cd2abadfea874eb8ff246bf0e"),
            std::string::npos)
      << bytes.status().message();
}

// ---- the hostile catalog ----

TEST(ManifestDbHostile, GarbageBytes) {
  EXPECT_EQ(error_of(read_manifest_db(Bytes(4096, 0x5A))),
            "corruption: Manifest.db: not an SQLite database (no 'SQLite format 3' header at "
            "offset 0)");
  EXPECT_EQ(error_of(read_manifest_db(Bytes())),
            "corruption: Manifest.db: not an SQLite database (no 'SQLite format 3' header at "
            "offset 0)");
  // The right magic, then garbage: SQLite's own check, reported as corruption.
  Bytes fake(4096, 0xEE);
  std::copy_n("SQLite format 3", 16, fake.begin());
  const auto r = read_manifest_db(fake);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().to_string();
  // A real database with its pages scrambled past the header.
  auto good = write_manifest_db(sample());
  ASSERT_TRUE(good.ok());
  Bytes scrambled = *good;
  for (size_t i = 4096; i < scrambled.size(); i += 7)
    scrambled[i] ^= 0xA5;
  const auto s = read_manifest_db(scrambled);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kCorruption) << s.status().to_string();
}

TEST(ManifestDbHostile, SchemaWithATriggerIsRefused) {
  const Bytes bytes = db_from_sql(std::string(kAppleSchema) +
                                  "CREATE TRIGGER audit AFTER INSERT ON Files BEGIN DELETE FROM "
                                  "Properties; END;" +
                                  keychain_row());
  EXPECT_EQ(error_of(read_manifest_db(bytes)),
            "corruption: Manifest.db: schema: unexpected trigger audit (only Files, Properties "
            "and their indexes are accepted)");
}

TEST(ManifestDbHostile, AViewNamedFilesIsRefused) {
  const Bytes bytes = db_from_sql(
      "CREATE TABLE Real (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, "
      "file BLOB);"
      "CREATE VIEW Files AS SELECT * FROM Real;"
      "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);");
  EXPECT_EQ(error_of(read_manifest_db(bytes)),
            "corruption: Manifest.db: schema: unexpected table Real (only Files, Properties and "
            "their indexes are accepted)");
  const Bytes view_only = db_from_sql(
      "CREATE VIEW Files AS SELECT 'a' AS fileID, 'b' AS domain, 'c' AS relativePath, 1 AS flags, "
      "x'00' AS file;"
      "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);");
  EXPECT_EQ(error_of(read_manifest_db(view_only)),
            "corruption: Manifest.db: schema: view Files on Files, expected table Files (only "
            "Files, Properties and their indexes are accepted)");
}

TEST(ManifestDbHostile, AFilesTableOfAnotherShapeIsRefused) {
  const std::string props = "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);";
  const Bytes wrong_type = db_from_sql(
      "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags TEXT, "
      "file BLOB);" +
      props);
  EXPECT_EQ(error_of(read_manifest_db(wrong_type)),
            "corruption: Manifest.db: schema: table Files is CREATE TABLE Files (fileID TEXT "
            "PRIMARY KEY, domain TEXT, relativePath TEXT, flags TEXT, file BLOB), expected CREATE "
            "TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, "
            "file BLOB) (only Files, Properties and their indexes are accepted)");
  const Bytes generated = db_from_sql(
      "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, "
      "file BLOB, extra AS (hex(file)));" +
      props);
  EXPECT_EQ(read_manifest_db(generated).status().code(), Code::kCorruption);
  const Bytes expression_index =
      db_from_sql(std::string(kAppleSchema) + "DROP INDEX FilesFlagsIdx;" +
                  "CREATE INDEX FilesFlagsIdx ON Files(abs(flags));");
  EXPECT_EQ(error_of(read_manifest_db(expression_index)),
            "corruption: Manifest.db: schema: index FilesFlagsIdx is CREATE INDEX FilesFlagsIdx ON "
            "Files(abs(flags)), expected CREATE INDEX FilesFlagsIdx ON Files(flags) (only Files, "
            "Properties and their indexes are accepted)");
  // The expected text and more after it: a table stored another way (WITHOUT ROWID) is refused.
  const Bytes without_rowid = db_from_sql(
      "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, "
      "file BLOB) WITHOUT ROWID;" +
      props);
  EXPECT_EQ(error_of(read_manifest_db(without_rowid)),
            "corruption: Manifest.db: schema: table Files is CREATE TABLE Files (fileID TEXT "
            "PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB) WITHOUT ROWID, "
            "expected CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, "
            "flags INTEGER, file BLOB) (only Files, Properties and their indexes are accepted)");
  const Bytes no_properties = db_from_sql(
      "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, "
      "file BLOB);");
  EXPECT_EQ(error_of(read_manifest_db(no_properties)),
            "corruption: Manifest.db: schema: no table Properties (only Files, Properties and "
            "their indexes are accepted)");
}

TEST(ManifestDbHostile, SchemaTextPastTheSqlLengthLimitIsRefused) {
  // The comparison ignores whitespace, so only sqlite3_limit(SQLITE_LIMIT_SQL_LENGTH) stops a
  // CREATE statement padded to any size: SQLite refuses to parse the schema at all.
  std::string padded(kAppleSchema);
  padded.insert(padded.find("file BLOB"), 5000, ' ');
  const auto r = read_manifest_db(db_from_sql(padded + keychain_row()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().to_string();
  EXPECT_EQ(r.status().message().rfind("Manifest.db: schema: ", 0), 0u) << r.status().message();
}

TEST(ManifestDbHostile, WrongValueTypesNameTheRowAndColumn) {
  const std::string id = file_id_of(kKeychainDomain, kKeychainRelativePath);
  const std::string row1 = "Manifest.db: Files row 1 (fileID " + id + "): ";
  EXPECT_EQ(
      error_of(read_manifest_db(db_from_sql(std::string(kAppleSchema) + keychain_row("'one'")))),
      "corruption: " + row1 + "flags: expected an integer, found text");
  EXPECT_EQ(error_of(read_manifest_db(
                db_from_sql(std::string(kAppleSchema) + keychain_row("1", "'text'")))),
            "corruption: " + row1 + "file: expected a blob, found text");
  EXPECT_EQ(error_of(read_manifest_db(
                db_from_sql(std::string(kAppleSchema) + keychain_row("1", "NULL")))),
            "corruption: " + row1 + "file: expected a blob, found NULL");
  EXPECT_EQ(error_of(read_manifest_db(db_from_sql(std::string(kAppleSchema) + keychain_row("8")))),
            "corruption: " + row1 + "flags: 8, expected 1 (file), 2 (directory) or 4 (symlink)");
  EXPECT_EQ(error_of(read_manifest_db(db_from_sql(
                std::string(kAppleSchema) +
                "INSERT INTO Files VALUES (x'3432', 'KeychainDomain', 'k', 1, x'00');"))),
            "corruption: Manifest.db: Files row 1: fileID: expected text, found a blob");
  EXPECT_EQ(error_of(read_manifest_db(
                db_from_sql(std::string(kAppleSchema) + row_sql(id, "Keychain\xff", "x")))),
            "corruption: " + row1 + "domain: not valid UTF-8 text: 0x4b6579636861696eff");
}

TEST(ManifestDbHostile, AFileIdThatDoesNotMatchItsPathIsRefused) {
  const std::string keychain = file_id_of(kKeychainDomain, kKeychainRelativePath);
  // The keychain's fileID on another path: a reader trusting fileID would open the keychain blob
  // as that file, or the other way round.
  const Bytes swapped = db_from_sql(std::string(kAppleSchema) +
                                    row_sql(file_id_of("HomeDomain", "a"), "HomeDomain", "a") +
                                    row_sql(keychain, "HomeDomain", "b"));
  EXPECT_EQ(error_of(read_manifest_db(swapped)),
            "corruption: Manifest.db: Files row 2 (fileID " + keychain +
                "): fileID: not the SHA-1 of domain-relativePath HomeDomain-b (" +
                file_id_of("HomeDomain", "b") + ")");
  std::string upper = keychain;
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(read_manifest_db(db_from_sql(std::string(kAppleSchema) +
                                         row_sql(upper, kKeychainDomain, kKeychainRelativePath)))
                .status()
                .code(),
            Code::kCorruption);
}

TEST(ManifestDbHostile, MoreRowsThanTheCapAreRefusedAndManyAreReadInOnePass) {
  ManifestDb m;
  for (int i = 0; i < 20000; ++i)
    m.files.push_back({"HomeDomain", "Library/f" + std::to_string(i), kManifestFile, Bytes(8, 1)});
  auto bytes = write_manifest_db(m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  ManifestDbLimits limits;
  limits.max_files = 19999;
  EXPECT_EQ(error_of(read_manifest_db(*bytes, limits)),
            "resource exhausted: Manifest.db: Files: more than 19999 rows");
  auto all = read_manifest_db(*bytes);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_EQ(all->files.size(), 20000u);
}

// The table scan does not consult the primary key's index, so a file whose pages were edited can
// list one domain and path twice (each row's fileID right); the reader refuses the second row. The
// image is forged by rewriting row 2's path and fileID into row 1's, bytes of the same length,
// everywhere in the image (table, indexes and the record's text alike).
TEST(ManifestDbHostile, TheSameFileListedTwiceBehindThePrimaryKeyIsRefused) {
  const std::string p = file_id_of("D", "Library/p");
  const std::string q = file_id_of("D", "Library/q");
  Bytes image = db_from_sql(std::string(kAppleSchema) + row_sql(p, "D", "Library/p") +
                            row_sql(q, "D", "Library/q"));
  ASSERT_TRUE(read_manifest_db(image).ok());
  auto rewrite = [&](std::string_view from, std::string_view to) {
    size_t n = 0;
    for (auto at = image.begin();
         (at = std::search(at, image.end(), from.begin(), from.end())) != image.end(); ++n) {
      std::copy(to.begin(), to.end(), at);
    }
    return n;
  };
  ASSERT_GT(rewrite(q, p), 0u);
  ASSERT_GT(rewrite("Library/q", "Library/p"), 0u);
  EXPECT_EQ(error_of(read_manifest_db(image)),
            "corruption: Manifest.db: Files row 2 (fileID " + p + "): fileID: appears twice");
}

TEST(ManifestDbHostile, OversizedValuesAndImagesAreCapped) {
  const Bytes bytes = db_from_sql(std::string(kAppleSchema) + keychain_row("1", "zeroblob(5000)"));
  ManifestDbLimits limits;
  limits.max_value_bytes = 4096;
  const auto r = read_manifest_db(bytes, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted) << r.status().to_string();
  EXPECT_NE(r.status().message().find("Files row 1"), std::string::npos) << r.status().message();
  limits = {};
  limits.max_bytes = bytes.size() - 1;
  EXPECT_EQ(read_manifest_db(bytes, limits).status().code(), Code::kResourceExhausted);
  limits = {};
  limits.max_properties = 0;
  EXPECT_EQ(error_of(read_manifest_db(*write_manifest_db(sample()), limits)),
            "resource exhausted: Manifest.db: Properties: more than 0 rows");
}

// Issue 17: readers and writers reuse this thread's idle connections. A reused connection must
// read exactly as a new one: the same rows, the same refusal word for word, and no limit, flag or
// schema carried over from the database it read before (a hostile one, or one read with other
// limits). Every image is read with the baseline set-up (a new connection each time) and then
// with the pool, in an order that puts each after a different predecessor.
TEST(ManifestDbPool, AReusedConnectionReadsLikeANewOne) {
  const Bytes good = *write_manifest_db(sample());
  const Bytes trigger = db_from_sql(std::string(kAppleSchema) +
                                    "CREATE TRIGGER t AFTER INSERT ON Files BEGIN DELETE FROM "
                                    "Properties; END;" +
                                    keychain_row());
  const Bytes view = db_from_sql(
      "CREATE VIEW Files AS SELECT 'a' AS fileID, 'b' AS domain, 'c' AS relativePath, 1 AS flags, "
      "x'00' AS file; CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);");
  const Bytes big_value =
      db_from_sql(std::string(kAppleSchema) + keychain_row("1", "zeroblob(5000)"));
  Bytes scrambled = good;
  for (size_t i = 4096; i < scrambled.size(); i += 7)
    scrambled[i] ^= 0xA5;
  ManifestDbLimits small;
  small.max_value_bytes = 4096;
  struct Read {
    const Bytes* image;
    ManifestDbLimits limits;
  };
  const std::vector<Read> reads = {{&good, {}},         {&trigger, {}},   {&good, {}},
                                   {&big_value, small}, {&big_value, {}}, {&view, {}},
                                   {&scrambled, {}},    {&good, small},   {&good, {}}};
  auto outcome = [](const Read& r) {
    const auto db = read_manifest_db(*r.image, r.limits);
    return db.ok() ? std::optional<ManifestDb>(*db) : std::nullopt;
  };
  auto error = [](const Read& r) { return error_of(read_manifest_db(*r.image, r.limits)); };
  std::vector<std::optional<ManifestDb>> fresh_rows;
  std::vector<std::string> fresh_errors;
  const bool was_baseline = baseline_setup();
  const size_t idle_before = idle_manifest_db_connections();
  set_baseline_setup(true);
  for (const Read& r : reads) {
    fresh_rows.push_back(outcome(r));
    fresh_errors.push_back(error(r));
  }
  EXPECT_EQ(idle_manifest_db_connections(), idle_before);  // the baseline opens and closes
  set_baseline_setup(false);
  for (size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(error(reads[i]), fresh_errors[i]) << "read " << i;
    EXPECT_EQ(outcome(reads[i]), fresh_rows[i]) << "read " << i;
    EXPECT_GE(idle_manifest_db_connections(), 1u) << "read " << i << " gave none back";
  }
  EXPECT_EQ(fresh_errors[3].rfind("resource exhausted:", 0), 0u) << fresh_errors[3];
  EXPECT_EQ(fresh_errors[4], "(accepted)");
  EXPECT_EQ(fresh_rows.back(), sample());
  set_baseline_setup(was_baseline);
}

// The reader's pragmas are set once per connection (issue 17): they must still be in effect for
// every later image the connection reads, after a hostile one too, and be the same as the
// baseline's (a new connection, every pragma set after the image is loaded).
TEST(ManifestDbPool, EveryImageIsReadUnderTheReadersPragmas) {
  constexpr std::string_view kExpected = "cell_size_check=1 query_only=1 trusted_schema=0";
  const Bytes good = *write_manifest_db(sample());
  const Bytes trigger = db_from_sql(std::string(kAppleSchema) +
                                    "CREATE TRIGGER t AFTER INSERT ON Files BEGIN DELETE FROM "
                                    "Properties; END;" +
                                    keychain_row());
  const bool was_baseline = baseline_setup();
  set_baseline_setup(true);
  const Result<std::string> baseline = manifest_reader_pragmas(good);
  ASSERT_TRUE(baseline.ok()) << baseline.status().to_string();
  EXPECT_EQ(*baseline, kExpected) << "baseline";
  set_baseline_setup(false);
  for (const Bytes* image : {&good, &trigger, &good, &good}) {
    EXPECT_TRUE(read_manifest_db(*image).ok() || image == &trigger);
    const Result<std::string> pragmas = manifest_reader_pragmas(*image);
    ASSERT_TRUE(pragmas.ok()) << pragmas.status().to_string();
    EXPECT_EQ(*pragmas, kExpected);
    EXPECT_GE(idle_manifest_db_connections(), 1u);
  }
  set_baseline_setup(was_baseline);
}

}  // namespace
}  // namespace kcb
