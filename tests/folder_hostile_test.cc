// The hostile catalog of a real backup folder's building blocks (issue 13): what whoever made the
// backup can put in Manifest.db (after decryption), in an MBFile record and in an encrypted file
// blob. Every case is refused with its exact code and a message that names the place (row, column,
// field, offset), or, for size, read in linear time. Linearity is checked by counting work, never
// with a clock: this executable interposes sqlite3_step (the dynamic linker resolves the reader's
// calls to the definition below first) and wraps SQLite's page cache to count page fetches.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <plist/plist.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/file_crypto.h"
#include "engine/manifest_db.h"
#include "engine/mbfile.h"
#include "input/property_list.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/device.h"
#include "kcbackup/env.h"
#include "kcbackup/random.h"

namespace {

size_t g_steps = 0;
size_t g_page_fetches = 0;
sqlite3_pcache_methods2 g_base_pcache;

sqlite3_pcache_page* counting_fetch(sqlite3_pcache* cache, unsigned key, int create) {
  ++g_page_fetches;
  return g_base_pcache.xFetch(cache, key, create);
}

// SQLite's default page cache with every fetch counted. Installed once, before any connection of
// this test is open (sqlite3_config needs SQLite shut down).
void count_page_fetches() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  KCB_ASSERT(sqlite3_shutdown() == SQLITE_OK);
  KCB_ASSERT(sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &g_base_pcache) == SQLITE_OK);
  static sqlite3_pcache_methods2 counting = g_base_pcache;
  counting.xFetch = counting_fetch;
  KCB_ASSERT(sqlite3_config(SQLITE_CONFIG_PCACHE2, &counting) == SQLITE_OK);
  KCB_ASSERT(sqlite3_initialize() == SQLITE_OK);
}

}  // namespace

extern "C" int sqlite3_step(sqlite3_stmt* s) {
  static auto real = reinterpret_cast<int (*)(sqlite3_stmt*)>(dlsym(RTLD_NEXT, "sqlite3_step"));
  if (real == nullptr) std::abort();
  ++g_steps;
  return real(s);
}

namespace kcb {
namespace {

constexpr std::string_view kAppleSchema =
    "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, "
    "file BLOB);"
    "CREATE INDEX FilesDomainIdx ON Files(domain);"
    "CREATE INDEX FilesRelativePathIdx ON Files(relativePath);"
    "CREATE INDEX FilesFlagsIdx ON Files(flags);"
    "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);";
constexpr std::string_view kSchemaTail = " (only Files, Properties and their indexes are accepted)";

struct Row {
  std::string domain, path;
  int64_t flags = kManifestFile;
  Bytes file = Bytes{0};
  std::string file_id = "";  // empty: SHA-1 of domain-path
};

// A database image: `schema` and `extra` run as SQL around the rows, which are bound as values
// (so NUL, bad UTF-8 and any size go in unchanged).
Bytes make_db(std::string_view schema, const std::vector<Row>& rows, std::string_view extra = "",
              int page_size = 512) {
  sqlite3* db = nullptr;
  KCB_ASSERT(sqlite3_open(":memory:", &db) == SQLITE_OK);
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 1 << 30);
  const std::string setup =
      "PRAGMA page_size=" + std::to_string(page_size) + "; BEGIN;" + std::string(schema);
  char* err = nullptr;
  if (sqlite3_exec(db, setup.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "make_db: %s: %s\n", setup.c_str(), err);
    ADD_FAILURE() << setup << ": " << err;
    sqlite3_free(err);
  }
  sqlite3_stmt* s = nullptr;
  if (!rows.empty() && sqlite3_prepare_v2(db, "INSERT INTO Files VALUES (?,?,?,?,?)", -1, &s,
                                          nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "make_db: %s\n", sqlite3_errmsg(db));
    std::abort();
  }
  for (const Row& r : rows) {
    const std::string id = r.file_id.empty() ? file_id_of(r.domain, r.path) : r.file_id;
    sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, r.domain.data(), static_cast<int>(r.domain.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, r.path.data(), static_cast<int>(r.path.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, r.flags);
    sqlite3_bind_blob64(s, 5, r.file.data(), r.file.size(), SQLITE_TRANSIENT);
    KCB_ASSERT(sqlite3_step(s) == SQLITE_DONE);
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  const std::string tail = std::string(extra) + "COMMIT;";
  if (sqlite3_exec(db, tail.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    ADD_FAILURE() << tail << ": " << err;
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

// With KCB_HOSTILE_CORPUS_DIR set, the forged images the reader once accepted are written there
// (DIR/<target>/forged-N), to be committed under corpus/<target>/ by SHA-1 as regression inputs.
void write_for_corpus(const std::string& target, ByteView bytes) {
  const char* dir = std::getenv("KCB_HOSTILE_CORPUS_DIR");
  if (dir == nullptr) return;
  static int count = 0;
  const auto path = std::filesystem::path(dir) / target / ("forged-" + std::to_string(++count));
  std::filesystem::create_directories(path.parent_path());
  KCB_ASSERT(write_file_atomically(default_env(), path, bytes).ok());
}

Row keychain_row() {
  return {std::string(kKeychainDomain), std::string(kKeychainRelativePath)};
}

std::string error_of(const Result<ManifestDb>& r) {
  return r.ok() ? "(accepted)" : r.status().to_string();
}

std::string row1_prefix(std::string_view id) {
  return "corruption: Manifest.db: Files row 1 (fileID " + std::string(id) + "): ";
}

// ---- Manifest.db: headers and pages ----

TEST(HostileManifestDb, BadSqliteHeaders) {
  const Bytes good = make_db(kAppleSchema, {keychain_row()});
  ASSERT_TRUE(read_manifest_db(good).ok());
  const std::string not_sqlite =
      "corruption: Manifest.db: not an SQLite database (no 'SQLite format 3' header at offset 0)";
  Bytes magic = good;
  magic[7] = 'F';  // "SQLite Format 3"
  EXPECT_EQ(error_of(read_manifest_db(magic)), not_sqlite);
  // Shorter than SQLite's 100-byte header.
  EXPECT_EQ(error_of(read_manifest_db(ByteView(good).first(99))), not_sqlite);
  // The page size field (offset 16) must be a power of two from 512 to 65536 (1 means 65536).
  Bytes page_size = good;
  page_size[16] = 0x03;
  page_size[17] = 0x00;
  EXPECT_EQ(error_of(read_manifest_db(page_size)),
            "corruption: Manifest.db: schema: file is not a database");
  // Payload fractions (offsets 21..23) must be 64, 32, 32.
  Bytes fraction = good;
  fraction[21] = 0x80;
  EXPECT_EQ(error_of(read_manifest_db(fraction)),
            "corruption: Manifest.db: schema: file is not a database");
  // A schema format number (offset 44) past 4.
  Bytes format = good;
  format[47] = 9;
  EXPECT_EQ(error_of(read_manifest_db(format)),
            "corruption: Manifest.db: schema: unsupported file format");
  // A text encoding (offset 56) other than 1..3 (UTF-8, UTF-16le, UTF-16be).
  Bytes encoding = good;
  encoding[59] = 7;
  const auto r = read_manifest_db(encoding);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().to_string();
  EXPECT_TRUE(r.status().message().starts_with("Manifest.db: ")) << r.status().message();
}

TEST(HostileManifestDb, TruncatedPages) {
  std::vector<Row> rows;
  for (int i = 0; i < 40; ++i)
    rows.push_back({"HomeDomain", "Library/f" + std::to_string(i), kManifestFile, Bytes(64, 7)});
  const Bytes good = make_db(kAppleSchema, rows);
  ASSERT_TRUE(read_manifest_db(good).ok());
  // Cut inside the last page, at a page boundary, and down to the first page: the header's page
  // count no longer matches and the b-trees point at pages that are not there.
  for (size_t keep : {good.size() - 100, good.size() - 512, good.size() / 2, size_t{512}}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " of " + std::to_string(good.size()));
    const auto r = read_manifest_db(ByteView(good).first(keep));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().to_string();
    EXPECT_TRUE(r.status().message().starts_with("Manifest.db: ")) << r.status().message();
  }
  // Zeroing the Files table's root page (page 2): SQLite's own corruption check, at row 1.
  Bytes zeroed = good;
  std::fill(zeroed.begin() + 512, zeroed.begin() + 1024, 0);
  const auto z = read_manifest_db(zeroed);
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(z.status().code(), Code::kCorruption) << z.status().to_string();
  EXPECT_TRUE(z.status().message().starts_with("Manifest.db: Files row 1: "))
      << z.status().message();
}

// ---- Manifest.db: the schema ----

TEST(HostileManifestDb, SchemaObjectsOtherThanApplesAreRefusedByName) {
  EXPECT_EQ(error_of(read_manifest_db(make_db(
                kAppleSchema, {keychain_row()},
                "CREATE TRIGGER t AFTER INSERT ON Files BEGIN DELETE FROM Properties; END;"))),
            "corruption: Manifest.db: schema: unexpected trigger t" + std::string(kSchemaTail));
  // A view named Files over a table of another name: the table is refused first (sqlite_master
  // order), and a view alone is refused as the wrong type.
  EXPECT_EQ(error_of(read_manifest_db(make_db(
                "CREATE TABLE Real (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, "
                "flags INTEGER, file BLOB);"
                "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);",
                {}, "CREATE VIEW Files AS SELECT * FROM Real;"))),
            "corruption: Manifest.db: schema: unexpected table Real" + std::string(kSchemaTail));
  EXPECT_EQ(error_of(read_manifest_db(make_db(
                "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);"
                "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, "
                "flags INTEGER, file BLOB);",
                {},
                "DROP TABLE Files; CREATE VIEW Files AS SELECT 'a' AS fileID, 'b' AS domain, 'c' "
                "AS relativePath, 1 AS flags, x'00' AS file;"))),
            "corruption: Manifest.db: schema: view Files on Files, expected table Files" +
                std::string(kSchemaTail));
  EXPECT_EQ(error_of(read_manifest_db(
                make_db(kAppleSchema, {keychain_row()}, "CREATE TABLE Extra (x);"))),
            "corruption: Manifest.db: schema: unexpected table Extra" + std::string(kSchemaTail));
  // An index of an expected name on an expression, and one of an unknown name.
  EXPECT_EQ(
      error_of(read_manifest_db(make_db(
          kAppleSchema, {keychain_row()},
          "DROP INDEX FilesDomainIdx; CREATE INDEX FilesDomainIdx ON Files(lower(domain));"))),
      "corruption: Manifest.db: schema: index FilesDomainIdx is CREATE INDEX FilesDomainIdx "
      "ON Files(lower(domain)), expected CREATE INDEX FilesDomainIdx ON Files(domain)" +
          std::string(kSchemaTail));
  EXPECT_EQ(error_of(read_manifest_db(make_db(kAppleSchema, {keychain_row()},
                                              "CREATE INDEX Sneaky ON Files(length(file));"))),
            "corruption: Manifest.db: schema: unexpected index Sneaky" + std::string(kSchemaTail));
}

TEST(HostileManifestDb, WrongColumnTypesInTheSchemaAndInTheRows) {
  EXPECT_EQ(error_of(read_manifest_db(
                make_db("CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath "
                        "TEXT, flags INTEGER, file TEXT);"
                        "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);",
                        {}))),
            "corruption: Manifest.db: schema: table Files is CREATE TABLE Files (fileID TEXT "
            "PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file TEXT), expected "
            "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags "
            "INTEGER, file BLOB)" +
                std::string(kSchemaTail));
  // Apple's schema declares types SQLite does not enforce: each value's type is checked.
  const std::string id = file_id_of(kKeychainDomain, kKeychainRelativePath);
  auto with = [&](const std::string& values) {
    return error_of(
        read_manifest_db(make_db(kAppleSchema, {}, "INSERT INTO Files VALUES (" + values + ");")));
  };
  EXPECT_EQ(with("'" + id + "', 'KeychainDomain', 'keychain-backup.plist', 1.5, x'00'"),
            row1_prefix(id) + "flags: expected an integer, found a real");
  EXPECT_EQ(with("'" + id + "', 'KeychainDomain', 'keychain-backup.plist', 1, 42"),
            row1_prefix(id) + "file: expected a blob, found an integer");
  EXPECT_EQ(with("'" + id + "', NULL, 'keychain-backup.plist', 1, x'00'"),
            row1_prefix(id) + "domain: expected text, found NULL");
  EXPECT_EQ(with("'" + id + "', 'KeychainDomain', x'6b', 1, x'00'"),
            row1_prefix(id) + "relativePath: expected text, found a blob");
  EXPECT_EQ(with("x'37', 'KeychainDomain', 'keychain-backup.plist', 1, x'00'"),
            "corruption: Manifest.db: Files row 1: fileID: expected text, found a blob");
  EXPECT_EQ(with("'" + id + "', 'KeychainDomain', 'keychain-backup.plist', -1, x'00'"),
            row1_prefix(id) + "flags: -1, expected 1 (file), 2 (directory) or 4 (symlink)");
}

TEST(HostileManifestDb, AFilesRowWithAWrongFileId) {
  const std::string keychain = file_id_of(kKeychainDomain, kKeychainRelativePath);
  Row other{"HomeDomain", "Library/x"};
  other.file_id = keychain;
  EXPECT_EQ(error_of(read_manifest_db(make_db(kAppleSchema, {other}))),
            row1_prefix(keychain) +
                "fileID: not the SHA-1 of domain-relativePath HomeDomain-Library/x (" +
                file_id_of("HomeDomain", "Library/x") + ")");
  // The right fileID in upper case: not what SHA-1 in lowercase hex gives.
  Row upper = keychain_row();
  upper.file_id = keychain;
  for (char& c : upper.file_id)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(error_of(read_manifest_db(make_db(kAppleSchema, {upper}))),
            row1_prefix(upper.file_id) +
                "fileID: not the SHA-1 of domain-relativePath "
                "KeychainDomain-keychain-backup.plist (" +
                keychain + ")");
}

TEST(HostileManifestDb, APropertyKeyRepeatedBehindItsIndexIsRefused) {
  // Properties rows dup-A and dup-B, then the table's copy of "dup-B" (followed by its value)
  // edited to "dup-A": the key's index still holds both names, the table scan sees dup-A twice.
  Bytes image = make_db(kAppleSchema, {keychain_row()},
                        "INSERT INTO Properties VALUES ('dup-A', CAST('VALUE-A' AS BLOB));"
                        "INSERT INTO Properties VALUES ('dup-B', CAST('VALUE-B' AS BLOB));");
  ASSERT_TRUE(read_manifest_db(image).ok());
  const std::string needle = "dup-BVALUE-B";
  const auto at = std::search(image.begin(), image.end(), needle.begin(), needle.end());
  ASSERT_NE(at, image.end());
  *(at + 4) = 'A';
  write_for_corpus("manifest_db", image);
  EXPECT_EQ(error_of(read_manifest_db(image)),
            "corruption: Manifest.db: Properties row 2 (key dup-A): key: appears twice");
}

TEST(HostileManifestDb, NulAndBadUtf8InText) {
  const std::string domain("Keychain\0Domain", 15);
  Row nul{domain, "keychain-backup.plist"};
  const std::string id = file_id_of(domain, nul.path);
  EXPECT_EQ(error_of(read_manifest_db(make_db(kAppleSchema, {nul}))),
            row1_prefix(id) + "domain: not valid UTF-8 text: Keychain\\x00Domain");
  Row bad{"HomeDomain", "Library/\xc3"};
  const std::string bad_id = file_id_of(bad.domain, bad.path);
  EXPECT_EQ(error_of(read_manifest_db(make_db(kAppleSchema, {bad}))),
            row1_prefix(bad_id) + "relativePath: not valid UTF-8 text: 0x4c6962726172792fc3");
  // A NUL inside the fileID text itself.
  Row nul_id{"HomeDomain", "a"};
  nul_id.file_id = std::string("51a4\0", 5);
  EXPECT_EQ(error_of(read_manifest_db(make_db(kAppleSchema, {nul_id}))),
            "corruption: Manifest.db: Files row 1: fileID: not valid UTF-8 text: 51a4\\x00");
}

TEST(HostileManifestDb, HugeTextAndBlobsOverTheCaps) {
  ManifestDbLimits limits;
  limits.max_value_bytes = 4096;
  const Row big_blob{"HomeDomain", "a", kManifestFile, Bytes(5000, 0xB0)};
  const auto blob = read_manifest_db(make_db(kAppleSchema, {big_blob}), limits);
  EXPECT_EQ(blob.status().code(), Code::kResourceExhausted) << blob.status().to_string();
  EXPECT_EQ(blob.status().message(), "Manifest.db: Files row 1: string or blob too big");
  const Row big_text{"HomeDomain", std::string(5000, 'p')};
  const auto text = read_manifest_db(make_db(kAppleSchema, {big_text}), limits);
  EXPECT_EQ(text.status().code(), Code::kResourceExhausted) << text.status().to_string();
  EXPECT_EQ(text.status().message(), "Manifest.db: Files row 1: string or blob too big");
  // The default cap (256 KiB per value) on a 300 KiB blob.
  const Row huge{"HomeDomain", "b", kManifestFile, Bytes(300 << 10, 0xB1)};
  EXPECT_EQ(read_manifest_db(make_db(kAppleSchema, {huge}, "", 4096)).status().message(),
            "Manifest.db: Files row 1: string or blob too big");
  // The image itself.
  const Bytes image = make_db(kAppleSchema, {keychain_row()});
  limits = {};
  limits.max_bytes = image.size() - 1;
  EXPECT_EQ(error_of(read_manifest_db(image, limits)),
            "resource exhausted: Manifest.db: " + std::to_string(image.size()) +
                " bytes, over the cap of " + std::to_string(image.size() - 1));
}

// ---- Manifest.db: rows sharing pages ----

// A table b-tree leaf cell of a 512-byte-page image: where its payload-size varint, its record's
// last serial type (the file column) and its first-overflow-page field are.
struct SqliteVarint {
  uint64_t value;
  size_t length;
};
SqliteVarint varint_at(const Bytes& b, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    const uint8_t c = b.at(at + i);
    v = (v << 7) | (c & 0x7F);
    if ((c & 0x80) == 0) return {v, i + 1};
  }
  return {(v << 8) | b.at(at + 8), 9};
}

struct LeafCell {
  size_t payload_at, payload_length;      // the payload-size varint
  size_t record_at;                       // the record (after the rowid varint)
  size_t file_type_at, file_type_length;  // the file column's serial type varint
  size_t overflow_at;                     // 0: the payload fits in the leaf
};

// The leaf cells of the table b-tree rooted at `page`, in rowid order.
void leaf_cells(const Bytes& image, uint32_t page, std::vector<LeafCell>& out) {
  constexpr size_t kUsable = 512;
  const size_t base = (page - 1) * kUsable;
  const size_t header = base + (page == 1 ? 100 : 0);
  const uint8_t type = image.at(header);
  ASSERT_TRUE(type == 0x05 || type == 0x0D) << "page " << page << " type " << int{type};
  const size_t cells = size_t{image.at(header + 3)} << 8 | image.at(header + 4);
  const size_t pointers = header + (type == 0x05 ? 12 : 8);
  for (size_t i = 0; i < cells; ++i) {
    const size_t cell =
        base + (size_t{image.at(pointers + 2 * i)} << 8 | image.at(pointers + 2 * i + 1));
    if (type == 0x05) {
      leaf_cells(image, load_be32(&image.at(cell)), out);
      continue;
    }
    const SqliteVarint payload = varint_at(image, cell);
    const SqliteVarint rowid = varint_at(image, cell + payload.length);
    const size_t record = cell + payload.length + rowid.length;
    // The record header: its size, then one serial type per column; the file column is the last.
    const SqliteVarint header_size = varint_at(image, record);
    size_t at = record + header_size.length, last = at, last_length = 0;
    while (at < record + header_size.value) {
      last = at;
      last_length = varint_at(image, at).length;
      at += last_length;
    }
    // SQLite's split of a payload between the leaf and its overflow pages (fileformat2.html).
    const size_t max_local = kUsable - 35, min_local = (kUsable - 12) * 32 / 255 - 23;
    size_t overflow_at = 0;
    if (payload.value > max_local) {
      size_t local = min_local + (payload.value - min_local) % (kUsable - 4);
      if (local > max_local) local = min_local;
      overflow_at = record + local;
    }
    out.push_back({cell, payload.length, record, last, last_length, overflow_at});
  }
  if (type == 0x05) leaf_cells(image, load_be32(&image.at(header + 8)), out);
}

TEST(HostileManifestDb, RowsSharingOneOverflowChainAreRefused) {
  // Row 1 holds an 8,164-byte file record, rows 2..N 544 bytes: both payloads keep their first 99
  // bytes (fileID, domain, path, flags, 36 bytes of the record) in the leaf, and spill the rest
  // into overflow pages: 16 for row 1, one for each other row. Rewriting each other row's payload
  // size and file serial type to row 1's and pointing it at row 1's chain gives 48 rows of 8,164
  // bytes (392 KB) in an image of 44 KB: a reader that trusts the pages hands out nine times the
  // bytes it was given, and any multiple with more rows, larger records and 64 KiB pages.
  constexpr int kRows = 48;
  std::vector<Row> rows;
  for (int i = 0; i < kRows; ++i) {
    char path[8];
    std::snprintf(path, sizeof path, "f%05d", i);
    rows.push_back(
        {"HomeDomain", path, kManifestFile, Bytes(i == 0 ? 8164 : 544, static_cast<uint8_t>(i))});
  }
  const Bytes honest = make_db(
      "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags "
      "INTEGER, file BLOB); CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);",
      rows);
  const auto read_honest = read_manifest_db(honest);
  ASSERT_TRUE(read_honest.ok()) << read_honest.status().to_string();
  std::vector<LeafCell> cells;
  leaf_cells(honest, 2, cells);  // Files is the first table: root page 2
  ASSERT_EQ(cells.size(), rows.size());
  Bytes shared = honest;
  const LeafCell& first = cells[0];
  ASSERT_NE(first.overflow_at, 0u);
  for (size_t i = 1; i < cells.size(); ++i) {
    const LeafCell& c = cells[i];
    ASSERT_EQ(c.payload_length, first.payload_length);
    ASSERT_EQ(c.file_type_length, first.file_type_length);
    ASSERT_EQ(c.overflow_at - c.record_at, first.overflow_at - first.record_at);
    ASSERT_EQ(c.file_type_at - c.record_at, first.file_type_at - first.record_at);
    std::copy_n(&honest.at(first.payload_at), first.payload_length, &shared.at(c.payload_at));
    std::copy_n(&honest.at(first.file_type_at), first.file_type_length, &shared.at(c.file_type_at));
    std::copy_n(&honest.at(first.overflow_at), 4, &shared.at(c.overflow_at));
  }
  write_for_corpus("manifest_db", shared);
  const auto r = read_manifest_db(shared);
  ASSERT_FALSE(r.ok()) << "accepted " << r->files.size() << " rows holding "
                       << r->files.size() * r->files.back().file.size() << " bytes from "
                       << shared.size();
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().to_string();
  EXPECT_TRUE(r.status().message().starts_with("Manifest.db: Files row ")) << r.status().message();
  EXPECT_NE(r.status().message().find("): file: "), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("more text and blob bytes than the"), std::string::npos)
      << r.status().message();
}

// ---- Manifest.db: size, in linear time ----

struct Work {
  size_t steps, page_fetches;
  double seconds;
};

// An image of `n` rows (domain "D", short paths, 1-byte blobs) in Apple's schema without the three
// optional indexes, rows in fileID order so that building it stays fast.
Bytes many_rows(size_t n) {
  std::vector<std::pair<std::string, std::string>> rows;
  rows.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string path = std::to_string(i);
    rows.emplace_back(file_id_of("D", path), std::move(path));
  }
  std::sort(rows.begin(), rows.end());
  sqlite3* db = nullptr;
  KCB_ASSERT(sqlite3_open(":memory:", &db) == SQLITE_OK);
  KCB_ASSERT(sqlite3_exec(db,
                          "PRAGMA page_size=65536; BEGIN;"
                          "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath "
                          "TEXT, flags INTEGER, file BLOB);"
                          "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);",
                          nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  KCB_ASSERT(sqlite3_prepare_v2(db, "INSERT INTO Files VALUES (?,'D',?,1,x'00')", -1, &s,
                                nullptr) == SQLITE_OK);
  for (const auto& [id, path] : rows) {
    sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 2, path.data(), static_cast<int>(path.size()), SQLITE_STATIC);
    KCB_ASSERT(sqlite3_step(s) == SQLITE_DONE);
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  KCB_ASSERT(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_int64 size = 0;
  unsigned char* image = sqlite3_serialize(db, "main", &size, 0);
  KCB_ASSERT(image != nullptr);
  Bytes out(image, image + size);
  sqlite3_free(image);
  sqlite3_close(db);
  return out;
}

Work read_counted(const Bytes& image, size_t expect_rows, const ManifestDbLimits& limits = {}) {
  g_steps = g_page_fetches = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto r = read_manifest_db(image, limits);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (expect_rows > 0) {
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (r.ok()) {
      EXPECT_EQ(r->files.size(), expect_rows);
    }
  }
  return {g_steps, g_page_fetches, seconds};
}

// 10k, 100k and (KCB_HOSTILE_MAX_ROWS=1000000, ctest scale.folder_hostile_million) a million
// rows, the default cap: each read whole, then with the cap one below the rows (refused at the
// last row) and with a cap of 1,000 (refused after 1,000 rows: the work of a refusal follows the
// cap, not the image).
TEST(HostileManifestDb, ManyRowsAreReadInLinearWorkAndTheCapRefusesEarly) {
  count_page_fetches();
  size_t max_rows = 100'000;
  if (const char* env = std::getenv("KCB_HOSTILE_MAX_ROWS")) max_rows = std::stoul(env);
  std::vector<std::pair<size_t, Work>> runs;
  for (size_t n = 10'000; n <= max_rows; n *= 10) {
    const Bytes image = many_rows(n);
    runs.emplace_back(n, read_counted(image, n));
    const Work& w = runs.back().second;
    std::printf("%7zu rows, %9zu bytes: %zu sqlite3_step, %zu page fetches, %.3f s (%.2f us/row)\n",
                n, image.size(), w.steps, w.page_fetches, w.seconds, 1e6 * w.seconds / n);
    ManifestDbLimits limits;
    limits.max_files = n - 1;
    EXPECT_EQ(
        error_of(read_manifest_db(image, limits)),
        "resource exhausted: Manifest.db: Files: more than " + std::to_string(n - 1) + " rows");
    limits.max_files = 1000;
    const Work capped = read_counted(image, 0, limits);
    EXPECT_LE(capped.steps, 1000u + 64);
  }
  ASSERT_GE(runs.size(), 2u);
  // One sqlite3_step per row plus a constant (the schema, Properties, the pragmas), and page
  // fetches per row no more than half again the smallest run's: no work grows faster than the
  // rows.
  const Work& small = runs.front().second;
  const double small_per_row = static_cast<double>(small.page_fetches) / 10'000.0;
  for (const auto& [n, w] : runs) {
    SCOPED_TRACE(std::to_string(n) + " rows");
    EXPECT_GE(w.steps, n);
    EXPECT_LE(w.steps, n + 64);
    EXPECT_GT(w.page_fetches, n / 2000);  // the counter sees the table's pages (64 KiB each)
    const double per_row = static_cast<double>(w.page_fetches) / static_cast<double>(n);
    EXPECT_LE(per_row, 1.5 * small_per_row);
  }
}

// ---- MBFile ----

MBFile keychain_file() {
  MBFile f;
  f.relative_path = std::string(kKeychainRelativePath);
  f.size = 1620;
  f.mode = 0100600;
  f.protection_class = 1;
  f.encryption_key = FileEncryptionKey{1, Bytes(kFileWrappedKeySize, 0xA7)};
  return f;
}

// The keychain record's tree ($objects: 0 $null, 1 root, 2 path, 3 key wrapper, 4 its class,
// 5 MBFile's class), edited by `edit`, then decoded.
std::string decode_edited(const std::function<void(plist_t doc, plist_t objects)>& edit,
                          const MBFileLimits& limits = {}) {
  auto doc = parse_plist(encode_mbfile(keychain_file()), "test");
  KCB_ASSERT(doc.ok());
  edit(doc->get(), plist_dict_get_item(doc->get(), "$objects"));
  const auto r = decode_mbfile(to_binary_plist(doc->get()), limits);
  return r.ok() ? "(accepted)" : r.status().to_string();
}

plist_t root_of(plist_t objects) {
  return plist_array_get_item(objects, 1);
}

TEST(HostileMBFile, UidCycles) {
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) {
              plist_array_set_item(o, plist_new_uid(3), 2);
              plist_array_set_item(o, plist_new_uid(2), 3);
            }),
            "corruption: MBFile: RelativePath: UID cycle through object 2");
  // An object that is a UID to itself.
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) { plist_array_set_item(o, plist_new_uid(2), 2); }),
            "corruption: MBFile: RelativePath: UID cycle through object 2");
  // $top.root through a chain back to itself.
  EXPECT_EQ(decode_edited([](plist_t doc, plist_t o) {
              plist_array_append_item(o, plist_new_uid(6));
              plist_dict_set_item(plist_dict_get_item(doc, "$top"), "root", plist_new_uid(6));
            }),
            "corruption: MBFile: $top.root: UID cycle through object 6");
  // The class through a wrapper cycle of NS.data dictionaries.
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) {
              plist_t a = plist_new_dict();
              plist_dict_set_item(a, "NS.data", plist_new_uid(4));
              plist_t b = plist_new_dict();
              plist_dict_set_item(b, "NS.data", plist_new_uid(3));
              plist_array_set_item(o, a, 3);
              plist_array_set_item(o, b, 4);
            }),
            "corruption: MBFile: EncryptionKey: UID cycle through a NS.data wrapper");
}

TEST(HostileMBFile, UidPastObjects) {
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) {
              plist_dict_set_item(root_of(o), "RelativePath", plist_new_uid(6));
            }),
            "corruption: MBFile: RelativePath: UID 6 past $objects (6)");
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) {
              plist_dict_set_item(root_of(o), "Target", plist_new_uid(0xFFFFFFFFu));
            }),
            "corruption: MBFile: Target: UID 4294967295 past $objects (6)");
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) {
              plist_dict_set_item(plist_array_get_item(o, 3), "$class", plist_new_uid(1));
              plist_dict_set_item(plist_array_get_item(o, 3), "NS.data", plist_new_uid(99));
            }),
            "corruption: MBFile: EncryptionKey: UID 99 past $objects (6)");
}

TEST(HostileMBFile, DeepNesting) {
  // NS.string wrappers nested nine deep (the cap is 8), each its own object.
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) {
              const uint32_t first = plist_array_get_size(o);
              for (uint32_t i = 0; i < 9; ++i) {
                plist_t w = plist_new_dict();
                plist_dict_set_item(w, "NS.string", plist_new_uid(i == 8 ? 2 : first + i + 1));
                plist_array_append_item(o, w);
              }
              plist_dict_set_item(root_of(o), "RelativePath", plist_new_uid(first));
            }),
            "resource exhausted: MBFile: RelativePath: more than 8 nested wrappers");
  // Nine UID hops.
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) {
              const uint32_t first = plist_array_get_size(o);
              for (uint32_t i = 0; i < 9; ++i)
                plist_array_append_item(o, plist_new_uid(i == 8 ? 2 : first + i + 1));
              plist_dict_set_item(root_of(o), "RelativePath", plist_new_uid(first));
            }),
            "resource exhausted: MBFile: RelativePath: more than 8 UID hops");
  // Plain plist nesting past the parser's depth cap (arrays in arrays, never reached by a UID).
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) {
              plist_t inner = plist_new_array();
              for (int i = 0; i < 40; ++i) {
                plist_t outer = plist_new_array();
                plist_array_append_item(outer, inner);
                inner = outer;
              }
              plist_array_append_item(o, inner);
            }),
            "corruption: MBFile: invalid binary property list: object 71: nested too deep");
  // A $objects array over the object cap.
  MBFileLimits limits;
  limits.max_objects = 6;
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) { plist_array_append_item(o, plist_new_uint(1)); },
                          limits),
            "resource exhausted: MBFile: $objects: 7 objects, over the cap of 6");
}

TEST(HostileMBFile, WrongVersionAndArchiver) {
  EXPECT_EQ(decode_edited([](plist_t doc, plist_t) {
              plist_dict_set_item(doc, "$version", plist_new_uint(99999));
            }),
            "unsupported: MBFile: $version 99999, expected 100000");
  EXPECT_EQ(decode_edited([](plist_t doc, plist_t) {
              plist_dict_set_item(doc, "$version", plist_new_string("100000"));
            }),
            "corruption: MBFile: $version: expected an integer, found a string");
  EXPECT_EQ(decode_edited([](plist_t doc, plist_t) {
              plist_dict_set_item(doc, "$archiver", plist_new_string("NSArchiver"));
            }),
            "corruption: MBFile: $archiver: 'NSArchiver', expected NSKeyedArchiver");
  // Found by fuzz_mbfile: the name is quoted, and a line break or an escape sequence in it must
  // not reach a terminal.
  EXPECT_EQ(decode_edited([](plist_t doc, plist_t) {
              plist_dict_set_item(doc, "$archiver", plist_new_string("N\nKeyedArchiver"));
            }),
            "corruption: MBFile: $archiver: 'N\\x0aKeyedArchiver', expected NSKeyedArchiver");
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) {
              plist_dict_set_item(plist_array_get_item(o, 5), "$classname",
                                  plist_new_string("\x1b[2JMBFile"));
            }),
            "corruption: MBFile: $class: class '\\x1b[2JMBFile', expected MBFile");
}

TEST(HostileMBFile, WrongKeySizesInEncryptionKey) {
  for (size_t n : {size_t{0}, size_t{4}, size_t{43}, size_t{45}, size_t{4 + 32}}) {
    SCOPED_TRACE(n);
    EXPECT_EQ(decode_edited([n](plist_t, plist_t o) {
                const Bytes key(n, 0x4B);
                plist_dict_set_item(plist_array_get_item(o, 3), "NS.data",
                                    plist_new_data(reinterpret_cast<const char*>(key.data()), n));
              }),
              "corruption: MBFile: EncryptionKey: " + std::to_string(n) + " byte" +
                  (n == 1 ? "" : "s") + ", expected 44 (4-byte class + 40-byte wrapped key)");
  }
  // The key as text instead of data.
  EXPECT_EQ(decode_edited([](plist_t, plist_t o) {
              plist_dict_set_item(plist_array_get_item(o, 3), "NS.data", plist_new_string("k"));
            }),
            "corruption: MBFile: EncryptionKey: expected data, found a string");
}

// ---- file blobs ----

const Bytes kKey(kFileKeySize, 0x6B);

std::string decrypt_error(ByteView ciphertext) {
  const auto r = decrypt_file_blob(kKey, ciphertext, "HomeDomain/Library/x");
  return r.ok() ? "(accepted)" : r.status().to_string();
}

// A ciphertext whose last block decrypts to `last_block`.
Bytes with_last_block(const std::array<uint8_t, 16>& last_block) {
  auto c = aes256_cbc_encrypt_blocks(kKey, std::array<uint8_t, 16>{}, ByteView(last_block));
  KCB_ASSERT(c.ok());
  return *c;
}

TEST(HostileFileBlob, BadPkcs7Padding) {
  std::array<uint8_t, 16> block{};
  block.fill(0x41);
  block[15] = 0x00;
  EXPECT_EQ(decrypt_error(with_last_block(block)),
            "corruption: HomeDomain/Library/x: bad PKCS#7 padding: final byte 0x00 at offset 15 "
            "is not a pad length 1..16 (a wrong key, or altered bytes)");
  block[15] = 0x11;
  EXPECT_EQ(decrypt_error(with_last_block(block)),
            "corruption: HomeDomain/Library/x: bad PKCS#7 padding: final byte 0x11 at offset 15 "
            "is not a pad length 1..16 (a wrong key, or altered bytes)");
  block.fill(0x04);
  block[13] = 0x03;
  EXPECT_EQ(decrypt_error(with_last_block(block)),
            "corruption: HomeDomain/Library/x: bad PKCS#7 padding: byte 0x03 at offset 13, "
            "expected 0x04 (a wrong key, or altered bytes)");
  block.fill(0x10);
  block[0] = 0x0F;
  EXPECT_EQ(decrypt_error(with_last_block(block)),
            "corruption: HomeDomain/Library/x: bad PKCS#7 padding: byte 0x0f at offset 0, "
            "expected 0x10 (a wrong key, or altered bytes)");
  // A full block of padding is a valid empty plaintext.
  block.fill(0x10);
  const auto empty = decrypt_file_blob(kKey, with_last_block(block), "x");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
}

TEST(HostileFileBlob, PartialBlocksAndZeroLength) {
  auto sealed = encrypt_file_blob(kKey, as_bytes("a file of thirty-three bytes here"));
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(sealed->size(), 48u);
  EXPECT_EQ(decrypt_error(ByteView(*sealed).first(47)),
            "corruption: HomeDomain/Library/x: 47 bytes: a partial AES block at offset 32");
  EXPECT_EQ(decrypt_error(ByteView(*sealed).first(17)),
            "corruption: HomeDomain/Library/x: 17 bytes: a partial AES block at offset 16");
  EXPECT_EQ(decrypt_error(ByteView(*sealed).first(15)),
            "corruption: HomeDomain/Library/x: 15 bytes: a partial AES block at offset 0");
  EXPECT_EQ(decrypt_error(ByteView()),
            "corruption: HomeDomain/Library/x: 0 bytes: no AES block (PKCS#7 padding needs at "
            "least one)");
  // Whole blocks cut from the front or the end: CBC has no integrity check, so dropping the first
  // block still decrypts (to 17 bytes, the first 16 garbled): callers check the plaintext too.
  // Dropping the last one leaves a block whose final byte is text, not a pad length.
  const auto front = decrypt_file_blob(kKey, ByteView(*sealed).subspan(16), "x");
  ASSERT_TRUE(front.ok());
  EXPECT_EQ(front->size(), 17u);
  EXPECT_EQ(decrypt_file_blob(kKey, ByteView(*sealed).first(32), "x").status().code(),
            Code::kCorruption);
}

TEST(HostileFileBlob, WrongKeySizesAreTheCallersError) {
  auto sealed = encrypt_file_blob(kKey, as_bytes("x"));
  ASSERT_TRUE(sealed.ok());
  for (size_t n : {size_t{0}, size_t{16}, size_t{31}, size_t{33}}) {
    const auto r = decrypt_file_blob(Bytes(n, 1), *sealed, "HomeDomain/x");
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(),
              "HomeDomain/x: key of " + std::to_string(n) + " bytes, expected 32");
  }
}

}  // namespace
}  // namespace kcb

// ---- Whole folders (found by fuzz_folder): what a hostile folder's text does to messages ----

namespace kcb {
namespace {

// A local backup folder of one item and one app file, from a device in memory (KDF counts of 2).
struct SmallFolder {
  std::unique_ptr<Device> device;
  BackupFolder folder;
};

SmallFolder small_folder(const std::string& app_path) {
  auto random = make_seeded_random(42);
  auto device = Device::create_in_memory(DeviceConfig{}, *random);
  EXPECT_TRUE(device.ok());
  NewItem item;
  item.account = "a";
  item.service = "s";
  item.secret = SecretBytes(as_bytes("secret"));
  EXPECT_TRUE((*device)->add(item, *random).ok());
  EXPECT_TRUE((*device)->put_app_file({"AppDomain-x", app_path, 3, Bytes(5, 'x')}).ok());
  auto folder = make_backup(**device, {Journey::kLocal, "", KeybagKdf{2, true, 2}}, *random);
  EXPECT_TRUE(folder.ok()) << folder.status().message();
  return {std::move(device).value(), std::move(folder).value()};
}

BackupOpenOptions open_with(const Device& device) {
  BackupOpenOptions o;
  o.device = &device;
  return o;
}

TEST(HostileFolder, InfoPlistTextThatIsNotUtf8IsLeftOut) {
  SmallFolder f = small_folder("Documents/x");
  auto before = OpenedBackup::open(f.folder, open_with(*f.device));
  ASSERT_TRUE(before.ok() && before->info().has_value());
  ASSERT_EQ(before->info()->unique_device_id.size(), 40u);
  Bytes& info = f.folder.files.at(kInfoPlistName);
  const std::string text(info.begin(), info.end());
  const size_t at = text.find("<key>Target Identifier</key>");
  ASSERT_NE(at, std::string::npos);
  info[text.find("<string>", at) + 8 + 3] = 0x9e;  // a lone continuation byte in the UDID
  auto backup = OpenedBackup::open(f.folder, open_with(*f.device));
  ASSERT_TRUE(backup.ok()) << backup.status().message();  // Info.plist decides nothing
  ASSERT_TRUE(backup->info().has_value());
  EXPECT_EQ(backup->info()->unique_device_id, "");
  EXPECT_EQ(backup->info()->product_type, before->info()->product_type);
  EXPECT_NE(backup->info()->product_type, "");
}

// read_info false (a restore's way): Info.plist is not read, and a restore does without one.
TEST(HostileFolder, InfoPlistIsReadOnlyWhenAskedFor) {
  SmallFolder f = small_folder("Documents/x");
  BackupOpenOptions o = open_with(*f.device);
  o.read_info = false;
  auto backup = OpenedBackup::open(f.folder, o);
  ASSERT_TRUE(backup.ok()) << backup.status().message();
  EXPECT_FALSE(backup->info().has_value());
  f.folder.files.erase(kInfoPlistName);
  auto restored = restore_backup(f.folder, *f.device, {}, *make_seeded_random(3));
  EXPECT_TRUE(restored.ok()) << restored.status().message();
}

TEST(HostileFolder, SnapshotStateIsShownEscaped) {
  SmallFolder f = small_folder("Documents/x");
  BackupStatus status;
  status.snapshot_state = "finished\n\x1b[2J";
  f.folder.files[kStatusPlistName] = write_backup_status(status);
  auto backup = OpenedBackup::open(f.folder, open_with(*f.device));
  ASSERT_FALSE(backup.ok());
  EXPECT_EQ(backup.status().message(),
            "Status.plist: SnapshotState 'finished\\x0a\\x1b[2J': the backup did not finish");
}

TEST(HostileFolder, AFileNameWithALineBreakIsShownEscaped) {
  SmallFolder f = small_folder("Documents/a\nb");
  const std::string id = file_id_of("AppDomain-x", "Documents/a\nb");
  ASSERT_EQ(f.folder.files.erase(id.substr(0, 2) + "/" + id), 1u);
  auto random = make_seeded_random(7);
  auto report = restore_backup(f.folder, *f.device, {}, *random);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kCorruption);
  EXPECT_EQ(report.status().message(), "AppDomain-x/Documents/a\\x0ab (fileID " + id +
                                           "): listed in Manifest.db but missing from the folder");
}

TEST(HostileFolder, AKeybagUuidWithALineBreakIsShownEscaped) {
  auto uuid = parse_uuid_text("0123\n4567");
  ASSERT_FALSE(uuid.ok());
  EXPECT_EQ(uuid.status().message(), "UUID '0123\\x0a4567' is not in 8-4-4-4-12 hexadecimal form");
}

}  // namespace
}  // namespace kcb
