#pragma once
// The clips cascadev-eval works through: every video file (and .safetensors clip) of a
// folder, sorted by name, or the lines of a list file (paths relative to the list's
// folder; blank lines and lines starting with # are skipped).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "cascadev/core/error.hpp"

namespace cascadev::examples {

struct EvalInput {
    std::string name;  ///< unique label: the path relative to the folder / as listed
    std::filesystem::path path;
};

inline bool is_clip_file(const std::filesystem::path& p) {
    static const std::set<std::string> exts = {".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v", ".safetensors"};
    std::string e = p.extension().string();
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return exts.count(e) != 0;
}

inline std::vector<EvalInput> list_eval_inputs(const std::filesystem::path& source) {
    namespace fs = std::filesystem;
    std::vector<EvalInput> out;
    if (fs::is_directory(source)) {
        for (const auto& e : fs::recursive_directory_iterator(source))
            if (e.is_regular_file() && is_clip_file(e.path()))
                out.push_back({fs::relative(e.path(), source).string(), e.path()});
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        if (out.empty()) fail(source.string(), ": no video files in this folder (.mp4 .mov .avi .webm .mkv .safetensors)");
        return out;
    }
    if (!fs::is_regular_file(source)) fail(source.string(), ": no such file or folder");
    std::ifstream list(source);
    std::string line;
    std::set<std::string> seen;
    for (int n = 1; std::getline(list, line); ++n) {
        const auto b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
        if (b == std::string::npos || line[b] == '#') continue;
        const std::string entry = line.substr(b, e - b + 1);
        fs::path p(entry);
        if (p.is_relative()) p = source.parent_path() / p;
        if (!seen.insert(entry).second) fail(source.string(), ":", n, ": \"", entry, "\" is listed twice");
        out.push_back({entry, p});
    }
    if (out.empty()) fail(source.string(), ": the list names no videos");
    return out;
}

}  // namespace cascadev::examples
