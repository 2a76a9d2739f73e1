#pragma once
// Writing the example programs' outputs without ever leaving a partial one behind:
// single files go through io::write_atomically (temp file + rename); a folder of outputs
// is written into a staging folder and moved into place only when everything succeeded.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cascadev/core/error.hpp"
#include "cascadev/io/atomic_file.hpp"
#include "cascadev/io/safetensors.hpp"
#include "cascadev/video/metrics.hpp"
#include "cascadev/video/preprocess.hpp"
#ifdef CASCADEV_HAVE_FFMPEG
#include "cascadev/video/video_io.hpp"
#endif

namespace cascadev::examples {

inline void write_text(const std::filesystem::path& path, const std::string& text) {
    io::write_atomically(path, [&](std::FILE* f) { io::write_bytes(f, text.data(), text.size(), path); });
}

/// Fails early, before any long computation, when `file` could not be created: its
/// folder must exist and be a folder (`option` names the command-line flag).
inline void check_output_file(const std::filesystem::path& file, const char* option) {
    namespace fs = std::filesystem;
    if (fs::is_directory(file)) fail(option, " ", file.string(), ": is a folder, expected a file name");
    const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
    if (!fs::is_directory(dir)) fail(option, " ", file.string(), ": the folder ", dir.string(), " does not exist");
    if (::access(dir.c_str(), W_OK) != 0) fail(option, " ", file.string(), ": the folder ", dir.string(), " is not writable");
}

/// A staging folder inside the output folder: files are written there and moved into
/// place by commit(); the destructor removes whatever was not committed (and the output
/// folder itself if this run created it and it is still empty).
class StagedOutputs {
public:
    explicit StagedOutputs(const std::filesystem::path& out) : out_(out) {
        namespace fs = std::filesystem;
        std::error_code ec;
        if (fs::exists(out_, ec) && !fs::is_directory(out_, ec))
            fail("--out ", out_.string(), ": exists and is not a folder");
        created_ = !fs::exists(out_, ec);
        fs::create_directories(out_, ec);
        if (ec) fail("--out ", out_.string(), ": cannot create the folder: ", ec.message());
        dir_ = out_ / (".cascadev-staging-" + std::to_string(::getpid()));
        fs::remove_all(dir_, ec);
        if (!fs::create_directory(dir_, ec) || ec) {
            const auto msg = ec.message();
            remove_created();
            fail("--out ", out_.string(), ": cannot write into the folder: ", msg);
        }
    }
    ~StagedOutputs() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        if (!committed_) remove_created();
    }
    StagedOutputs(const StagedOutputs&) = delete;
    StagedOutputs& operator=(const StagedOutputs&) = delete;

    /// The staging path of output `name` (registered for commit()).
    std::filesystem::path operator/(const std::string& name) {
        names_.push_back(name);
        return dir_ / name;
    }
    /// Moves every written output into the output folder; returns their final paths.
    std::vector<std::filesystem::path> commit() {
        std::vector<std::filesystem::path> done;
        committed_ = true;
        for (const auto& n : names_)
            if (std::filesystem::exists(dir_ / n)) {
                std::filesystem::rename(dir_ / n, out_ / n);
                done.push_back(out_ / n);
            }
        return done;
    }
    const std::filesystem::path& folder() const { return out_; }

private:
    void remove_created() {
        std::error_code ec;
        if (created_ && std::filesystem::is_empty(out_, ec)) std::filesystem::remove(out_, ec);
    }

    std::filesystem::path out_, dir_;
    bool created_ = false, committed_ = false;
    std::vector<std::string> names_;
};

/// Output files in any folders, all or none: each is written under a temporary name
/// beside its final path and renamed into place by commit(); the destructor removes
/// whatever was not committed.
class StagedFiles {
public:
    StagedFiles() = default;
    ~StagedFiles() {
        if (committed_) return;
        std::error_code ec;
        for (const auto& [tmp, final_path] : files_) std::filesystem::remove(tmp, ec);
    }
    StagedFiles(const StagedFiles&) = delete;
    StagedFiles& operator=(const StagedFiles&) = delete;

    /// The temporary path to write `final_path` to. The extension is kept (writers choose
    /// the format by it).
    std::filesystem::path operator()(const std::filesystem::path& final_path) {
        auto tmp = final_path;
        tmp.replace_filename("." + final_path.stem().string() + ".partial-" + std::to_string(::getpid()) +
                             final_path.extension().string());
        files_.emplace_back(tmp, final_path);
        return tmp;
    }
    std::vector<std::filesystem::path> commit() {
        std::vector<std::filesystem::path> done;
        committed_ = true;
        for (const auto& [tmp, final_path] : files_)
            if (std::filesystem::exists(tmp)) {
                std::filesystem::rename(tmp, final_path);
                done.push_back(final_path);
            }
        return done;
    }

private:
    std::vector<std::pair<std::filesystem::path, std::filesystem::path>> files_;
    bool committed_ = false;
};

/// "wrote FILE FILE ..." on stdout: what a run produced.
inline void print_written(const std::vector<std::filesystem::path>& files) {
    std::printf("wrote");
    for (const auto& f : files) std::printf(" %s", f.string().c_str());
    std::printf("\n");
}

/// Up to 16 frames of an RGB clip stacked vertically (recon.sh's enc.jpg).
inline video::Frame stack_frames(const video::ClipView& c) {
    const index_t n = std::min<index_t>(c.extent(0), 16), H = c.extent(1), W = c.extent(2);
    video::Frame f(n * H, W, index_t(3));
    std::copy_n(c.data(), n * H * W * 3, f.data());
    return f;
}

/// An RGB uint8 clip [T, H, W, 3] as outputs named `stem`: stem.mp4 and stem.png (the
/// stacked frames) with FFmpeg, else stem.safetensors ("frames").
inline void write_clip(StagedOutputs& out, const std::string& stem, const video::ClipView& rgb, double fps) {
#ifdef CASCADEV_HAVE_FFMPEG
    video::write_mp4(out / (stem + ".mp4"), rgb, fps);
    video::write_png(out / (stem + ".png"), stack_frames(rgb).view());
#else
    (void)fps;
    io::SafetensorsWriter w;
    w.add("frames", rgb);
    w.set_metadata("layout", "RGB uint8 [T, H, W, 3]");
    w.write(out / (stem + ".safetensors"));
#endif
}

/// The video file types write_clip_file() writes (video::write_video picks the codec).
inline bool is_video_file_type(const std::string& ext) {
    for (const char* e : {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi"})
        if (ext == e) return true;
    return false;
}

/// Fails early when `path` is not a clip file type write_clip_file() writes.
inline void check_clip_file_type(const std::filesystem::path& path, const char* option) {
    const auto ext = path.extension().string();
#ifdef CASCADEV_HAVE_FFMPEG
    if (is_video_file_type(ext) || ext == ".png" || ext == ".safetensors") return;
    fail(option, " ", path.string(), ": unknown output type \"", ext,
         "\" (expected .mp4, .mov, .mkv, .webm, .avi, .png or .safetensors)");
#else
    if (ext == ".safetensors") return;
    fail(option, " ", path.string(), ": this build has no FFmpeg; write .safetensors");
#endif
}

/// An RGB uint8 clip written to one file, chosen by its extension: a video (.mp4, .mov,
/// .mkv: H.264; .webm: VP9; .avi: MPEG-4; with FFmpeg), .png (the frames stacked
/// vertically, with FFmpeg) or .safetensors ("frames").
inline void write_clip_file(const std::filesystem::path& path, const video::ClipView& rgb, double fps) {
    check_clip_file_type(path, "output");
    const auto ext = path.extension().string();
    if (ext == ".safetensors") {
        io::SafetensorsWriter w;
        w.add("frames", rgb);
        w.set_metadata("layout", "RGB uint8 [T, H, W, 3]");
        w.write(path);
        return;
    }
#ifdef CASCADEV_HAVE_FFMPEG
    if (is_video_file_type(ext)) return video::write_video(path, rgb, fps);
    video::write_png(path, stack_frames(rgb).view());
#else
    (void)fps;
#endif
}

/// The metrics table: frame, PSNR (dB), SSIM (and LPIPS when given), then the means.
inline std::string metrics_text(const video::MetricsResult& m, const std::vector<double>& lpips = {}) {
    std::string s = lpips.empty() ? "frame   psnr_db     ssim\n" : "frame   psnr_db     ssim     lpips\n";
    char line[128];
    double lpips_sum = 0;
    for (std::size_t t = 0; t < m.psnr.size(); ++t) {
        std::snprintf(line, sizeof line, "%5zu  %8.4f  %8.5f", t, m.psnr[t], m.ssim[t]);
        s += line;
        if (t < lpips.size()) {
            std::snprintf(line, sizeof line, "  %8.5f", lpips[t]);
            s += line;
            lpips_sum += lpips[t];
        }
        s += "\n";
    }
    std::snprintf(line, sizeof line, " mean  %8.4f  %8.5f", m.psnr_mean, m.ssim_mean);
    s += line;
    if (!lpips.empty()) {
        std::snprintf(line, sizeof line, "  %8.5f", lpips_sum / double(lpips.size()));
        s += line;
    }
    return s + "\n";
}

/// The metrics as JSON (PSNR +inf, identical frames, is written as null).
inline nlohmann::json metrics_json(const video::MetricsResult& m) {
    return {{"psnr", m.psnr}, {"ssim", m.ssim}, {"psnr_mean", m.psnr_mean}, {"ssim_mean", m.ssim_mean}};
}

}  // namespace cascadev::examples
