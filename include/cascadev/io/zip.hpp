#pragma once
// A reader for the STORED entries of a zip archive held in memory (a mapped file), as
// torch.save (>= 1.6) writes them. Only the central directory is trusted for sizes, and
// every offset from the file is bounds-checked before use; compressed or encrypted
// entries, multi-disk archives and overlapping entries are rejected with an error naming
// the file and the entry. Zip64 records are followed when the directory says so.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascadev/core/error.hpp"

namespace cascadev::io {

struct ZipEntry {
    std::string name;
    std::uint64_t local_offset = 0;  // of the local file header
    std::uint64_t data_offset = 0;   // of the entry's bytes (after the local header)
    std::uint64_t size = 0;          // stored == uncompressed size
};

class ZipReader {
public:
    /// Largest number of entries accepted (a checkpoint has one per storage).
    static constexpr std::uint64_t max_entries = 1u << 24;

    ZipReader(std::span<const std::byte> bytes, std::string file) : b_(bytes), file_(std::move(file)) { parse(); }

    const std::vector<ZipEntry>& entries() const { return entries_; }
    const ZipEntry* find(std::string_view name) const {
        auto it = index_.find(std::string(name));
        return it == index_.end() ? nullptr : &entries_[it->second];
    }
    /// The bytes of one entry (inside the mapping).
    std::span<const std::byte> data(const ZipEntry& e) const {
        return b_.subspan(std::size_t(e.data_offset), std::size_t(e.size));
    }
    const std::string& file() const { return file_; }

private:
    std::uint64_t u(std::uint64_t off, int n) const {  // little-endian, caller checked bounds
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(b_[std::size_t(off) + std::size_t(i)]);
        return v;
    }
    void need(std::uint64_t off, std::uint64_t n, const char* what) const {
        if (off > b_.size() || n > b_.size() - off)
            fail(file_, ": corrupt or truncated zip: ", what, " at offset ", off, " (", n, " bytes) lies outside the file (",
                 b_.size(), " bytes)");
    }

    void parse() {
        const std::uint64_t size = b_.size();
        if (size < 22) fail(file_, ": truncated zip archive (", size, " bytes, no end-of-central-directory record)");
        // The end-of-central-directory record: the last one within the final 64 KiB + 22.
        std::uint64_t eocd = size;
        const std::uint64_t lowest = size > 22 + 0xFFFF ? size - 22 - 0xFFFF : 0;
        for (std::uint64_t p = size - 22;; --p) {
            if (u(p, 4) == 0x06054b50 && p + 22 + u(p + 20, 2) == size) {
                eocd = p;
                break;
            }
            if (p == lowest) break;
        }
        if (eocd == size)
            fail(file_, ": corrupt or truncated zip archive: no end-of-central-directory record");
        std::uint64_t disk = u(eocd + 4, 2), cd_disk = u(eocd + 6, 2);
        std::uint64_t n_disk = u(eocd + 8, 2), n = u(eocd + 10, 2);
        std::uint64_t cd_size = u(eocd + 12, 4), cd_off = u(eocd + 16, 4);
        std::uint64_t cd_end_limit = eocd;
        if (n == 0xFFFF || n_disk == 0xFFFF || cd_size == 0xFFFFFFFF || cd_off == 0xFFFFFFFF) {
            // Zip64: a locator right before the EOCD points at the zip64 EOCD record.
            if (eocd < 20 || u(eocd - 20, 4) != 0x07064b50)
                fail(file_, ": corrupt zip: the directory needs zip64 but there is no zip64 locator");
            const std::uint64_t z = u(eocd - 20 + 8, 8);
            need(z, 56, "the zip64 end-of-central-directory record");
            if (z > eocd - 20 || z + 56 > eocd - 20)
                fail(file_, ": corrupt zip: zip64 end-of-central-directory offset ", z, " is out of place");
            if (u(z, 4) != 0x06064b50) fail(file_, ": corrupt zip: bad zip64 end-of-central-directory signature");
            disk = u(z + 16, 4);
            cd_disk = u(z + 20, 4);
            n_disk = u(z + 24, 8);
            n = u(z + 32, 8);
            cd_size = u(z + 40, 8);
            cd_off = u(z + 48, 8);
            cd_end_limit = z;
        }
        if (disk != 0 || cd_disk != 0 || n_disk != n) fail(file_, ": multi-disk zip archives are not supported");
        if (n > max_entries) fail(file_, ": zip archive claims ", n, " entries (limit ", max_entries, ")");
        if (cd_off > cd_end_limit || cd_size > cd_end_limit - cd_off)
            fail(file_, ": corrupt or truncated zip: central directory [", cd_off, ", +", cd_size,
                 ") runs past its end record at ", cd_end_limit);
        if (n * 46 > cd_size)
            fail(file_, ": corrupt zip: ", n, " entries cannot fit in a central directory of ", cd_size, " bytes");

        std::uint64_t p = cd_off;
        const std::uint64_t cd_end = cd_off + cd_size;
        for (std::uint64_t i = 0; i < n; ++i) {
            if (p + 46 > cd_end) fail(file_, ": corrupt zip: central directory entry ", i, " is truncated");
            if (u(p, 4) != 0x02014b50)
                fail(file_, ": corrupt zip: bad central directory signature for entry ", i, " at offset ", p);
            const std::uint64_t flags = u(p + 8, 2), method = u(p + 10, 2);
            std::uint64_t csize = u(p + 20, 4), usize = u(p + 24, 4);
            const std::uint64_t name_len = u(p + 28, 2), extra_len = u(p + 30, 2), comment_len = u(p + 32, 2);
            const std::uint64_t entry_disk = u(p + 34, 2);
            std::uint64_t local = u(p + 42, 4);
            const std::uint64_t var = name_len + extra_len + comment_len;
            if (p + 46 + var > cd_end) fail(file_, ": corrupt zip: central directory entry ", i, " is truncated");
            ZipEntry e;
            e.name.assign(reinterpret_cast<const char*>(b_.data() + p + 46), std::size_t(name_len));
            // Zip64 extended information: present fields in order usize, csize, local offset.
            for (std::uint64_t x = p + 46 + name_len, xe = x + extra_len; x + 4 <= xe;) {
                const std::uint64_t id = u(x, 2), len = u(x + 2, 2);
                if (x + 4 + len > xe) fail(file_, ": corrupt zip: extra field of \"", e.name, "\" is truncated");
                if (id == 0x0001) {
                    std::uint64_t q = x + 4;
                    auto take = [&](std::uint64_t& v) {
                        if (v != 0xFFFFFFFF) return;
                        if (q + 8 > x + 4 + len) fail(file_, ": corrupt zip: short zip64 field for \"", e.name, "\"");
                        v = u(q, 8);
                        q += 8;
                    };
                    take(usize);
                    take(csize);
                    take(local);
                }
                x += 4 + len;
            }
            if (entry_disk != 0 && entry_disk != 0xFFFF) fail(file_, ": multi-disk zip archives are not supported");
            if (flags & 1) fail(file_, ": zip entry \"", e.name, "\" is encrypted");
            if (method != 0)
                fail(file_, ": zip entry \"", e.name, "\" is compressed (method ", method,
                     "); torch.save writes stored entries: re-save the checkpoint with torch.save");
            if (csize != usize)
                fail(file_, ": corrupt zip: stored entry \"", e.name, "\" has compressed size ", csize,
                     " != size ", usize);
            // The local header: its own name/extra lengths decide where the data starts.
            need(local, 30, "a local file header");
            if (u(local, 4) != 0x04034b50)
                fail(file_, ": corrupt zip: bad local header signature for \"", e.name, "\" at offset ", local);
            const std::uint64_t lname = u(local + 26, 2), lextra = u(local + 28, 2);
            need(local + 30, lname + lextra, "a local file header");
            if (lname != name_len ||
                std::memcmp(b_.data() + local + 30, e.name.data(), std::size_t(name_len)) != 0)
                fail(file_, ": corrupt zip: local header name differs from the directory for \"", e.name, "\"");
            e.local_offset = local;
            e.data_offset = local + 30 + lname + lextra;
            e.size = usize;
            if (e.data_offset > cd_off || e.size > cd_off - e.data_offset)
                fail(file_, ": corrupt or truncated zip: data of \"", e.name, "\" [", e.data_offset, ", +", e.size,
                     ") runs into the central directory at ", cd_off);
            if (!index_.emplace(e.name, entries_.size()).second)
                fail(file_, ": corrupt zip: duplicate entry \"", e.name, "\"");
            entries_.push_back(std::move(e));
            p += 46 + var;
        }
        // Entries must not overlap one another (a crafted archive could alias data).
        std::vector<const ZipEntry*> by(entries_.size());
        for (std::size_t i = 0; i < entries_.size(); ++i) by[i] = &entries_[i];
        std::sort(by.begin(), by.end(), [](auto* a, auto* b) { return a->local_offset < b->local_offset; });
        for (std::size_t i = 1; i < by.size(); ++i)
            if (by[i]->local_offset < by[i - 1]->data_offset + by[i - 1]->size)
                fail(file_, ": corrupt zip: entries \"", by[i - 1]->name, "\" and \"", by[i]->name, "\" overlap");
    }

    std::span<const std::byte> b_;
    std::string file_;
    std::vector<ZipEntry> entries_;
    std::map<std::string, std::size_t> index_;
};

}  // namespace cascadev::io
