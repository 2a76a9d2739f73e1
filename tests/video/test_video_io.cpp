// Video files through FFmpeg (cascadev/video/video_io.hpp): mp4 and PNG round trips, the
// frame count / fps probe, frame-exact stride selection on the golden FFV1 AVI, and the
// errors (missing file, not a video, too short a video, odd mp4 sizes, failed writes).
#include <boost/test/unit_test.hpp>

#ifndef CASCADEV_HAVE_FFMPEG

BOOST_AUTO_TEST_CASE(video_io_not_built) {
    BOOST_TEST_MESSAGE("built without FFmpeg (cascadev::video_io): video file tests not run");
}

#else

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "cascadev/io/safetensors.hpp"
#include "cascadev/video/metrics.hpp"
#include "cascadev/video/video_io.hpp"
#include "../common/temp_dir.hpp"

using namespace cascadev;
using namespace cascadev::video;
namespace fs = std::filesystem;

namespace {

/// A fresh folder per test, removed afterwards.
struct TempDir : cascadev::testing::TempDir {
    TempDir() : cascadev::testing::TempDir("cascadev_video_io") {
        av_log_set_level(AV_LOG_ERROR);  // x264 reports its settings at info level
    }
    std::size_t entries() const { return std::size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator())); }
};

/// Smooth moving colour gradients (compressible content, so H.264 keeps it well).
Clip synthetic_rgb(index_t T, index_t H, index_t W) {
    Clip c(T, H, W, index_t(3));
    for (index_t t = 0; t < T; ++t)
        for (index_t y = 0; y < H; ++y)
            for (index_t x = 0; x < W; ++x)
                for (index_t k = 0; k < 3; ++k) {
                    const double v = 128 + 90 * std::sin(0.11 * double(x + 2 * t) + 0.7 * double(k)) *
                                               std::cos(0.09 * double(y - t) + 0.3 * double(k));
                    c(t, y, x, k) = u8(std::lround(v));
                }
    return c;
}

/// Noisy frames (every pixel independent): what only a lossless path keeps exactly.
Clip noisy_rgb(index_t T, index_t H, index_t W, unsigned seed) {
    Clip c(T, H, W, index_t(3));
    unsigned s = seed;
    for (index_t i = 0; i < c.size(); ++i) {
        s = s * 1664525u + 1013904223u;
        c.data()[i] = u8(s >> 24);
    }
    return c;
}

const fs::path golden_case = fs::path(CASCADEV_TEST_DATA_DIR) / "golden/components/video.load/ffv1_stride4";

/// The golden case's FFV1 AVI written out, and its 10 frames decoded once.
fs::path golden_avi(const TempDir& d) {
    io::SafetensorsReader r(golden_case / "io.safetensors");
    const auto bytes = r.load<std::uint8_t, 1>("file");
    const fs::path p = d.dir / "golden.avi";
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    return p;
}

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "<no error>";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(clip_fps_rounds_half_to_even) {
    BOOST_TEST(clip_fps(10, 4) == 2);  // 2.5
    BOOST_TEST(clip_fps(8, 3) == 3);   // 2.67
    BOOST_TEST(clip_fps(30, 4) == 8);  // 7.5
    BOOST_TEST(clip_fps(25, 2) == 12); // 12.5
    BOOST_TEST(clip_fps(30000.0 / 1001, 1) == 30);
    BOOST_CHECK_THROW(clip_fps(10, 0), Error);
}

BOOST_AUTO_TEST_CASE(mp4_round_trip) {
    TempDir d;
    const fs::path p = d.dir / "clip.mp4";
    const Clip rgb = synthetic_rgb(12, 48, 64);
    write_mp4(p, rgb, 8.0);
    BOOST_TEST(fs::exists(p));
    BOOST_TEST(d.entries() == 1u);  // no temporary left behind

    const VideoInfo info = probe(p);
    BOOST_TEST(info.frames == 12);
    BOOST_TEST(info.fps == 8.0);
    BOOST_TEST(info.width == 64);
    BOOST_TEST(info.height == 48);
    BOOST_TEST(info.codec == "h264");

    const Clip bgr = read_frames(p, 0, 12);
    BOOST_TEST(bgr.extent(0) == 12);
    BOOST_TEST(bgr.extent(1) == 48);
    BOOST_TEST(bgr.extent(2) == 64);
    const Clip back = swap_rb(bgr);
    const auto ps = psnr(rgb.view(), back.view());
    for (double v : ps) BOOST_TEST(v > 30.0);

    // Stride selection on an inter-coded stream: frame k of the clip is frame k of the file.
    const Clip sel = read_frames(p, 1, 3, 5);  // 1, 6, 11
    BOOST_TEST(sel.extent(0) == 3);
    for (index_t i = 0; i < 3; ++i) {
        const index_t f = 1 + 5 * i, n = 48 * 64 * 3;
        BOOST_TEST(std::memcmp(sel.data() + i * n, bgr.data() + f * n, std::size_t(n)) == 0);
    }
}

// The containers a user brings (issue: mp4/mov/avi/webm): write each with write_video,
// read it back frame-exactly in count and size, close in value; frame k is frame k.
BOOST_AUTO_TEST_CASE(containers_round_trip) {
    const Clip rgb = synthetic_rgb(9, 48, 64);
    const std::vector<std::pair<std::string, std::string>> kinds = {
        {"clip.mov", "h264"}, {"clip.mkv", "h264"}, {"clip.webm", "vp9"}, {"clip.avi", "mpeg4"}, {"clip.m4v", "h264"}};
    for (const auto& [name, codec] : kinds) {
        TempDir d;
        const fs::path p = d.dir / name;
        write_video(p, rgb, 12.0);
        BOOST_TEST(d.entries() == 1u, name);
        const VideoInfo info = probe(p);
        BOOST_TEST(info.frames == 9, name);
        BOOST_TEST(info.fps == 12.0, name);
        BOOST_TEST(info.codec == codec, name);
        const Clip all = read_frames(p, 0, 9);
        const auto ps = psnr(rgb.view(), swap_rb(all).view());
        for (double v : ps) BOOST_TEST(v > 28.0, name << ": PSNR " << v);
        const Clip sel = read_frames(p, 2, 3, 3);  // 2, 5, 8
        const index_t n = 48 * 64 * 3;
        for (index_t i = 0; i < 3; ++i)
            BOOST_TEST(std::memcmp(sel.data() + i * n, all.data() + (2 + 3 * i) * n, std::size_t(n)) == 0, name);
    }
    TempDir d;
    BOOST_CHECK_EXCEPTION(write_video(d.dir / "clip.gif", rgb, 12.0), Error, [&](const Error& e) {
        return std::string(e.what()).find("clip.gif: unknown video type \".gif\"") != std::string::npos;
    });
    BOOST_TEST(d.entries() == 0u);
}

BOOST_AUTO_TEST_CASE(png_round_trip_is_exact) {
    TempDir d;
    const Clip rgb = noisy_rgb(3, 17, 23, 7);  // odd sizes are fine for PNG
    for (index_t t = 0; t < 3; ++t) write_png(d.dir / ("frame_" + std::to_string(t) + ".png"), rgb.view().select<0>(t));
    BOOST_TEST(d.entries() == 3u);

    const Frame one = read_png(d.dir / "frame_1.png");
    BOOST_TEST(one.extent(0) == 17);
    BOOST_TEST(one.extent(1) == 23);
    for (index_t y = 0; y < 17; ++y)
        for (index_t x = 0; x < 23; ++x)
            for (index_t k = 0; k < 3; ++k) BOOST_TEST_REQUIRE(one(y, x, k) == rgb(1, y, x, 2 - k));

    for (const fs::path& src : {d.dir, d.dir / "frame_*.png"}) {
        const Clip seq = swap_rb(read_image_sequence(src));
        BOOST_TEST(seq.extent(0) == 3);
        BOOST_TEST(std::memcmp(seq.data(), rgb.data(), std::size_t(rgb.size())) == 0);
    }
    BOOST_TEST(contains(error_of([&] { read_image_sequence(d.dir / "none_*.png"); }), "no images found"));
}

BOOST_AUTO_TEST_CASE(golden_ffv1_probe_and_stride) {
    TempDir d;
    const fs::path avi = golden_avi(d);
    const VideoInfo info = probe(avi);
    BOOST_TEST(info.frames == 10);
    BOOST_TEST(info.fps == 10.0);
    BOOST_TEST(info.height == 24);
    BOOST_TEST(info.width == 40);
    BOOST_TEST(info.codec == "ffv1");

    // Frames 1, 5, 9 equal the recorded ones and the same frames read one by one.
    io::SafetensorsReader r(golden_case / "io.safetensors");
    const auto expect = r.load<std::uint8_t, 4>("frames");
    const Clip sel = read_frames(avi, 1, 3, 4);
    BOOST_TEST(sel.extent(0) == 3);
    BOOST_TEST(sel.size() == expect.size());
    BOOST_TEST(std::memcmp(sel.data(), expect.data(), std::size_t(sel.size())) == 0);
    const Clip all = read_frames(avi, 0, 10);
    const index_t n = 24 * 40 * 3;
    for (index_t i = 0; i < 3; ++i)
        BOOST_TEST(std::memcmp(sel.data() + i * n, all.data() + (1 + 4 * i) * n, std::size_t(n)) == 0);
    // The last frame is reachable; one past it is "too short".
    BOOST_TEST(read_frames(avi, 9, 1).extent(0) == 1);
    const std::string e = error_of([&] { read_frames(avi, 1, 4, 3); });  // needs frame 10
    BOOST_TEST(contains(e, "video too short"), e);
    BOOST_TEST(contains(e, avi.string()), e);
    BOOST_TEST(contains(e, "needs frame 10"), e);
    BOOST_TEST(contains(e, "has 10"), e);
}

BOOST_AUTO_TEST_CASE(read_errors_name_the_file) {
    TempDir d;
    const fs::path missing = d.dir / "missing.mp4";
    std::string e = error_of([&] { probe(missing); });
    BOOST_TEST(contains(e, missing.string()), e);
    BOOST_TEST(contains(e, "no such file"), e);
    BOOST_TEST(contains(error_of([&] { read_frames(missing, 0, 1); }), missing.string()));

    const fs::path text = d.dir / "notes.mp4";
    std::ofstream(text) << "this is not a video file, just some words\n";
    e = error_of([&] { read_frames(text, 0, 1); });
    BOOST_TEST(contains(e, text.string()), e);
    BOOST_TEST(contains(e, "cannot open"), e);

    BOOST_TEST(contains(error_of([&] { read_frames(d.dir, 0, 1); }), "is a folder"));
    BOOST_TEST(contains(error_of([&] { read_frames(missing, 0, 0); }), "number of frames"));
    BOOST_TEST(contains(error_of([&] { read_frames(missing, 0, 1, 0); }), "stride"));
}

BOOST_AUTO_TEST_CASE(write_errors_leave_no_file) {
    TempDir d;
    // Odd sizes cannot be yuv420p: a clear error, nothing written.
    const fs::path odd = d.dir / "odd.mp4";
    std::string e = error_of([&] { write_mp4(odd, synthetic_rgb(2, 17, 32), 8.0); });
    BOOST_TEST(contains(e, odd.string()), e);
    BOOST_TEST(contains(e, "even width and height"), e);
    BOOST_TEST(contains(e, "32x17"), e);
    e = error_of([&] { write_mp4(odd, synthetic_rgb(2, 16, 33), 8.0); });
    BOOST_TEST(contains(e, "even width and height"), e);
    BOOST_TEST(!fs::exists(odd));
    BOOST_TEST(d.entries() == 0u);

    // A bad encoder option fails mid-write (after the temporary file exists): no output,
    // no temporary.
    const fs::path bad = d.dir / "bad.mp4";
    Mp4Options o;
    o.preset = "no-such-preset";
    e = error_of([&] { write_mp4(bad, synthetic_rgb(2, 16, 16), 8.0, o); });
    BOOST_TEST(contains(e, bad.string()), e);
    BOOST_TEST(!fs::exists(bad));
    BOOST_TEST(d.entries() == 0u);

    // An existing file is replaced only by a complete one: a failed write keeps it intact.
    const fs::path keep = d.dir / "keep.mp4";
    write_mp4(keep, synthetic_rgb(3, 16, 16), 8.0);
    const auto size = fs::file_size(keep);
    BOOST_CHECK_THROW(write_mp4(keep, synthetic_rgb(3, 15, 16), 8.0), Error);
    BOOST_CHECK_THROW(write_mp4(keep, synthetic_rgb(3, 16, 16), 8.0, o), Error);
    BOOST_TEST(fs::file_size(keep) == size);
    BOOST_TEST(probe(keep).frames == 3);
    BOOST_TEST(d.entries() == 1u);

    // Unwritable folder: error naming the file, nothing created.
    const fs::path nowhere = d.dir / "no_such_dir" / "x.png";
    e = error_of([&] { write_png(nowhere, noisy_rgb(1, 4, 4, 1).view().select<0>(0)); });
    BOOST_TEST(contains(e, nowhere.string()), e);
    BOOST_TEST(contains(error_of([&] { write_mp4(nowhere, synthetic_rgb(2, 16, 16), 8.0); }), nowhere.string()));
    BOOST_TEST(d.entries() == 1u);
}

#endif  // CASCADEV_HAVE_FFMPEG
