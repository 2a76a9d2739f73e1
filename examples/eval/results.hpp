#pragma once
// cascadev-eval's results: one JSON row file per clip (the unit of resuming: written
// atomically when the clip is done, so a crash loses at most the clip in flight), and
// the tables merged from them (results.csv, results.json).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "../common/outputs.hpp"

namespace cascadev::examples {

/// Stage names of the per-clip timings, in table order.
inline const std::vector<std::string>& eval_stages() {
    static const std::vector<std::string> s = {"read", "preprocess", "encode", "preview", "refine",
                                               "decode", "metrics",    "lpips",  "total"};
    return s;
}

/// The row file of clip `index` (named by index so names need no escaping).
inline std::filesystem::path row_path(const std::filesystem::path& out, std::size_t index) {
    char name[32];
    std::snprintf(name, sizeof name, "%06zu.json", index);
    return out / "rows" / name;
}

/// The stored row of a clip if it is complete: status ok, same clip and same settings.
inline std::optional<nlohmann::json> complete_row(const std::filesystem::path& file, const std::string& video,
                                                  const std::string& settings) {
    std::ifstream f(file);
    if (!f) return std::nullopt;
    const auto j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    if (j.value("status", "") != "ok" || j.value("video", "") != video || j.value("settings", "") != settings)
        return std::nullopt;
    for (const char* k : {"psnr", "ssim", "frames", "seconds"})
        if (!j.contains(k)) return std::nullopt;
    return j;
}

namespace eval_detail {

/// JSON number or null (+-inf / NaN, as PSNR of identical frames) as a double.
inline double number(const nlohmann::json& v) {
    return v.is_number() ? v.get<double>() : std::numeric_limits<double>::infinity();
}

inline std::string fmt(double v, const char* f = "%.6f") {
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (std::isnan(v)) return "nan";
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

inline std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

}  // namespace eval_detail

/// The table of all rows (in clip order) plus the overall line: means over all frames of
/// the clips that succeeded (the paper's per-frame averages), seconds summed.
struct EvalTable {
    std::vector<nlohmann::json> rows;
    bool lpips = false;

    nlohmann::json overall() const {
        using eval_detail::number;
        double psnr = 0, ssim = 0, lp = 0;
        std::size_t frames = 0, ok = 0, failed = 0, lp_frames = 0;
        nlohmann::json seconds = nlohmann::json::object();
        for (const auto& s : eval_stages()) seconds[s] = 0.0;
        for (const auto& r : rows) {
            if (r.value("status", "") != "ok") {
                ++failed;
                continue;
            }
            ++ok;
            for (const auto& v : r["psnr"]) psnr += number(v);
            for (const auto& v : r["ssim"]) ssim += number(v);
            frames += r["psnr"].size();
            if (r.contains("lpips") && r["lpips"].is_array()) {
                for (const auto& v : r["lpips"]) lp += number(v);
                lp_frames += r["lpips"].size();
            }
            for (const auto& s : eval_stages()) seconds[s] = seconds[s].get<double>() + r["seconds"].value(s, 0.0);
        }
        const double nan = std::numeric_limits<double>::quiet_NaN();
        nlohmann::json o = {{"videos", ok},
                            {"failed", failed},
                            {"frames", frames},
                            {"psnr", frames ? psnr / double(frames) : nan},
                            {"ssim", frames ? ssim / double(frames) : nan},
                            {"seconds", seconds}};
        o["lpips"] = lpips && lp_frames ? nlohmann::json(lp / double(lp_frames)) : nlohmann::json(nullptr);
        return o;
    }

    std::string csv() const {
        using namespace eval_detail;
        std::string s = "video,status,frames,height,width,psnr_db,ssim,lpips";
        for (const auto& st : eval_stages()) s += ",seconds_" + st;
        s += ",error\n";
        auto line = [&](const std::string& name, const nlohmann::json& r, double psnr, double ssim,
                        const nlohmann::json& lp, const nlohmann::json& sec) {
            const bool ok = r.value("status", "") == "ok";
            auto count = [&](const char* k) { return r.value(k, 0) > 0 ? std::to_string(r.value(k, 0)) : std::string(); };
            s += csv_field(name) + "," + r.value("status", "") + "," + count("frames") + "," + count("height") + "," +
                 count("width") + "," +
                 (ok ? fmt(psnr) : "") + "," + (ok ? fmt(ssim) : "") + "," +
                 (ok && lp.is_number() ? fmt(lp.get<double>()) : "");
            for (const auto& st : eval_stages()) s += "," + (sec.is_object() ? fmt(sec.value(st, 0.0), "%.3f") : "");
            s += "," + csv_field(r.value("error", "")) + "\n";
        };
        for (const auto& r : rows)
            line(r.value("video", ""), r, number(r.value("psnr_mean", nlohmann::json())),
                 number(r.value("ssim_mean", nlohmann::json())), r.value("lpips_mean", nlohmann::json()),
                 r.value("seconds", nlohmann::json()));
        const auto o = overall();
        nlohmann::json all = {{"status", "ok"}, {"frames", o["frames"]}};
        line("ALL", all, number(o["psnr"]), number(o["ssim"]), o["lpips"], o["seconds"]);
        return s;
    }

    nlohmann::json json(const nlohmann::json& settings) const {
        return {{"settings", settings}, {"videos", rows}, {"overall", overall()}};
    }

    /// results.csv and results.json in `out` (each atomically).
    void write(const std::filesystem::path& out, const nlohmann::json& settings) const {
        write_text(out / "results.csv", csv());
        write_text(out / "results.json", json(settings).dump(2) + "\n");
    }
};

}  // namespace cascadev::examples
