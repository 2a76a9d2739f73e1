#pragma once
// Writes go to a temporary file beside the target, then rename(): a crash or an error
// never leaves a partial output file under the final name.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include "cascadev/core/error.hpp"

namespace cascadev::io {

/// Calls `write(FILE*)` on a temp file, then atomically renames it to `path`.
inline void write_atomically(const std::filesystem::path& path, const std::function<void(std::FILE*)>& write) {
    std::string tmpl = path.string() + ".tmp.XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) fail(path.string(), ": cannot create a temporary file: ", std::strerror(errno));
    std::FILE* f = ::fdopen(fd, "wb");
    if (!f) {
        ::close(fd);
        ::unlink(tmpl.c_str());
        fail(path.string(), ": cannot open the temporary file");
    }
    try {
        write(f);
        if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0)
            fail(path.string(), ": write failed: ", std::strerror(errno));
    } catch (...) {
        std::fclose(f);
        ::unlink(tmpl.c_str());
        throw;
    }
    if (std::fclose(f) != 0) {
        ::unlink(tmpl.c_str());
        fail(path.string(), ": write failed: ", std::strerror(errno));
    }
    ::chmod(tmpl.c_str(), 0644);  // mkstemp makes 0600 files; outputs are ordinary files
    if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmpl.c_str());
        fail(path.string(), ": cannot rename the temporary file into place: ", std::strerror(e));
    }
}

/// fwrite that throws on a short write.
inline void write_bytes(std::FILE* f, const void* p, std::size_t n, const std::filesystem::path& path) {
    if (n && std::fwrite(p, 1, n, f) != n) fail(path.string(), ": short write: ", std::strerror(errno));
}

}  // namespace cascadev::io
