#pragma once
// Video and image files through FFmpeg's C API (docs/reference/preprocess.md, section 1):
//   probe(path)                         -> frame count and frame rate as §1 defines them
//   read_frames(path, beg, num, stride) -> BGR uint8 [num, H, W, 3], frame-exact
//   read_png / read_image_sequence      -> BGR uint8 frames from PNG (or any still image)
//   write_video(path, rgb [T, H, W, 3], fps)  -> .mp4 .m4v .mov .mkv (H.264), .webm (VP9), .avi (MPEG-4)
//   write_mp4(path, rgb, fps), write_png(path, rgb [H, W, 3])
//   clip_fps(fps, stride)               -> round(fps / stride), half to even (Python round)
// Link cascadev::video_io (defines CASCADEV_HAVE_FFMPEG); the core library never needs FFmpeg.
//
// Decoding follows the reference's OpenCV VideoCapture: FFmpeg decode, then sws_scale
// (SWS_BICUBIC, as OpenCV) to bgr24. Frame selection decodes sequentially from the start
// and keeps frames beg, beg + stride, ...: the frame index is the decode order, so streams
// with irregular timestamps still give the intended frames (the robust approach §1 names).
// Every error is a cascadev::Error naming the file. Writes go to a temporary file in the
// target's folder that is renamed into place, so a failed write leaves no output file.
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/io/atomic_file.hpp"
#include "cascadev/video/preprocess.hpp"

namespace cascadev::video {

/// What probe() reports. `frames` is the container's frame count (§1.1: the stream's
/// nb_frames, e.g. AVI dwLength or the MP4 track's sample count; when the container has
/// none, round(duration × fps) as OpenCV computes it); `fps` its frame rate (the stream's
/// average frame rate, else its r_frame_rate).
struct VideoInfo {
    index_t frames = 0;
    double fps = 0;
    index_t height = 0, width = 0;
    std::string codec;      ///< decoder name, e.g. "ffv1", "h264"
    std::string container;  ///< demuxer name, e.g. "avi", "mov,mp4,m4a,3gp,3g2,mj2"
};

/// §1.4: the clip's frame rate after striding, fps / stride rounded half to even.
inline index_t clip_fps(double fps, index_t stride) {
    if (stride < 1) fail("clip_fps: stride must be >= 1, got ", stride);
    return index_t(std::nearbyint(fps / double(stride)));  // default rounding mode: half to even
}

/// Options of write_mp4 (libx264 through libavcodec, yuv420p).
struct Mp4Options {
    int crf = 18;                     ///< x264 constant rate factor (0 = lossless luma .. 51)
    std::string preset = "medium";    ///< x264 preset
};

namespace detail {

inline std::string av_error(int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(err, buf, sizeof buf);
    return buf;
}

struct FormatInputDeleter {
    void operator()(AVFormatContext* p) const { avformat_close_input(&p); }
};
struct CodecContextDeleter {
    void operator()(AVCodecContext* p) const { avcodec_free_context(&p); }
};
struct FrameDeleter {
    void operator()(AVFrame* p) const { av_frame_free(&p); }
};
struct PacketDeleter {
    void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
    void operator()(SwsContext* p) const { sws_freeContext(p); }
};
using FormatInputPtr = std::unique_ptr<AVFormatContext, FormatInputDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

inline FramePtr make_frame(const std::filesystem::path& path) {
    FramePtr f(av_frame_alloc());
    if (!f) fail(path.string(), ": out of memory (av_frame_alloc)");
    return f;
}
inline PacketPtr make_packet(const std::filesystem::path& path) {
    PacketPtr p(av_packet_alloc());
    if (!p) fail(path.string(), ": out of memory (av_packet_alloc)");
    return p;
}

/// An opened input file with its best video stream and decoder; next() gives the decoded
/// frames in decode order.
class Decoder {
public:
    explicit Decoder(const std::filesystem::path& path) : path_(path) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) fail(path.string(), ": no such file");
        if (std::filesystem::is_directory(path, ec)) fail(path.string(), ": is a folder, not a video file");
        AVFormatContext* raw = nullptr;
        int r = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
        if (r < 0) fail(path.string(), ": cannot open as a video or image file: ", av_error(r));
        fmt_.reset(raw);
        r = avformat_find_stream_info(fmt_.get(), nullptr);
        if (r < 0) fail(path.string(), ": cannot read stream information: ", av_error(r));
        const AVCodec* codec = nullptr;
        stream_ = av_find_best_stream(fmt_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
        if (stream_ < 0) fail(path.string(), ": no video stream (", fmt_->iformat->name, " file)");
        if (!codec) fail(path.string(), ": no decoder for its video codec");
        st_ = fmt_->streams[stream_];
        ctx_.reset(avcodec_alloc_context3(codec));
        if (!ctx_) fail(path.string(), ": out of memory (avcodec_alloc_context3)");
        r = avcodec_parameters_to_context(ctx_.get(), st_->codecpar);
        if (r < 0) fail(path.string(), ": bad codec parameters: ", av_error(r));
        ctx_->thread_count = 0;  // automatic; output order and values do not depend on it
        r = avcodec_open2(ctx_.get(), codec, nullptr);
        if (r < 0) fail(path.string(), ": cannot open the ", codec->name, " decoder: ", av_error(r));
        pkt_ = make_packet(path);
        frame_ = make_frame(path);
    }

    VideoInfo info() const {
        VideoInfo v;
        AVRational rate = st_->avg_frame_rate;
        if (rate.num <= 0 || rate.den <= 0) rate = st_->r_frame_rate;
        v.fps = (rate.num > 0 && rate.den > 0) ? av_q2d(rate) : 0.0;
        v.frames = index_t(st_->nb_frames);
        if (v.frames <= 0) {
            // As OpenCV: duration (container, else stream) × fps, rounded.
            double sec = fmt_->duration != AV_NOPTS_VALUE ? double(fmt_->duration) / AV_TIME_BASE : 0.0;
            if (sec <= 0 && st_->duration != AV_NOPTS_VALUE) sec = double(st_->duration) * av_q2d(st_->time_base);
            v.frames = sec > 0 ? index_t(std::floor(sec * v.fps + 0.5)) : 0;
        }
        v.height = st_->codecpar->height;
        v.width = st_->codecpar->width;
        v.codec = ctx_->codec ? ctx_->codec->name : "";
        v.container = fmt_->iformat->name;
        return v;
    }

    /// The next decoded frame (owned by the decoder, valid until the next call), or
    /// nullptr at the end of the stream.
    const AVFrame* next() {
        for (;;) {
            av_frame_unref(frame_.get());
            int r = avcodec_receive_frame(ctx_.get(), frame_.get());
            if (r == 0) return frame_.get();
            if (r == AVERROR_EOF) return nullptr;
            if (r != AVERROR(EAGAIN)) fail(path_.string(), ": decoding failed: ", av_error(r));
            if (flushed_) return nullptr;
            // Feed the decoder the next packet of our stream (or the flush packet at EOF).
            for (;;) {
                av_packet_unref(pkt_.get());
                r = av_read_frame(fmt_.get(), pkt_.get());
                if (r == AVERROR_EOF) {
                    flushed_ = true;
                    r = avcodec_send_packet(ctx_.get(), nullptr);
                    if (r < 0 && r != AVERROR_EOF) fail(path_.string(), ": decoding failed: ", av_error(r));
                    break;
                }
                if (r < 0) fail(path_.string(), ": cannot read a packet: ", av_error(r));
                if (pkt_->stream_index != stream_) continue;
                r = avcodec_send_packet(ctx_.get(), pkt_.get());
                if (r < 0 && r != AVERROR(EAGAIN)) fail(path_.string(), ": decoding failed: ", av_error(r));
                break;
            }
        }
    }

    /// Converts a decoded frame to packed bgr24 [H, W, 3] at dst (as OpenCV: SWS_BICUBIC).
    void to_bgr(const AVFrame* f, u8* dst) {
        sws_.reset(sws_getCachedContext(sws_.release(), f->width, f->height, AVPixelFormat(f->format), f->width,
                                        f->height, AV_PIX_FMT_BGR24, SWS_BICUBIC, nullptr, nullptr, nullptr));
        if (!sws_) fail(path_.string(), ": cannot convert ", av_get_pix_fmt_name(AVPixelFormat(f->format)), " to bgr24");
        u8* dst_data[4] = {dst, nullptr, nullptr, nullptr};
        int dst_stride[4] = {f->width * 3, 0, 0, 0};
        const int h = sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, dst_data, dst_stride);
        if (h != f->height) fail(path_.string(), ": colour conversion to bgr24 failed");
    }

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    FormatInputPtr fmt_;
    CodecContextPtr ctx_;
    PacketPtr pkt_;
    FramePtr frame_;
    SwsPtr sws_;
    AVStream* st_ = nullptr;
    int stream_ = -1;
    bool flushed_ = false;
};

/// A temporary file beside `path` (same folder, so rename() is atomic), removed unless
/// commit() renamed it into place.
class TempOutput {
public:
    explicit TempOutput(const std::filesystem::path& path) : path_(path) {
        tmp_ = path.string() + ".tmp.XXXXXX";
        const int fd = ::mkstemp(tmp_.data());
        if (fd < 0) fail(path.string(), ": cannot create a temporary file: ", std::strerror(errno));
        ::close(fd);
        live_ = true;
    }
    TempOutput(const TempOutput&) = delete;
    TempOutput& operator=(const TempOutput&) = delete;
    ~TempOutput() {
        if (live_) ::unlink(tmp_.c_str());
    }
    const std::string& tmp() const { return tmp_; }
    void commit() {
        ::chmod(tmp_.c_str(), 0644);  // mkstemp makes 0600 files; outputs are ordinary files
        if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
            const int e = errno;
            fail(path_.string(), ": cannot rename the temporary file into place: ", std::strerror(e));
        }
        live_ = false;
    }

private:
    std::filesystem::path path_;
    std::string tmp_;
    bool live_ = false;
};

/// An output muxer writing to a temporary file (avio_open on the temp path, the format
/// named explicitly since the temp name has no usable extension).
struct MuxerOutput {
    AVFormatContext* fmt = nullptr;
    ~MuxerOutput() {
        if (fmt) {
            if (fmt->pb) avio_closep(&fmt->pb);
            avformat_free_context(fmt);
        }
    }
};

inline void check_rgb_clip(const ClipView& rgb, const std::filesystem::path& path, const char* what) {
    if (rgb.extent(3) != 3) fail(path.string(), ": ", what, " needs RGB frames [T, H, W, 3], got ", rgb.extents().str());
    if (rgb.extent(0) < 1 || rgb.extent(1) < 1 || rgb.extent(2) < 1)
        fail(path.string(), ": ", what, ": no frames to write ", rgb.extents().str());
}

/// Copies a contiguous-or-strided RGB frame t of `rgb` into a packed buffer.
inline std::vector<u8> packed_frame(const ClipView& rgb, index_t t) {
    const index_t H = rgb.extent(1), W = rgb.extent(2);
    std::vector<u8> buf(std::size_t(H * W * 3));
    std::size_t k = 0;
    for (index_t y = 0; y < H; ++y)
        for (index_t x = 0; x < W; ++x)
            for (index_t c = 0; c < 3; ++c) buf[k++] = rgb(t, y, x, c);
    return buf;
}

}  // namespace detail

/// §1.1: frame count and frame rate of a video file, as the container reports them.
inline VideoInfo probe(const std::filesystem::path& path) { return detail::Decoder(path).info(); }

/// §1: frames beg + i·stride (i < num) as BGR uint8 [num, H, W, 3]. The last one must be
/// below the container's frame count ("video too short"); a frame the stream does not
/// deliver is an error too.
inline Clip read_frames(const std::filesystem::path& path, index_t beg, index_t num, index_t stride = 1) {
    if (beg < 0) fail(path.string(), ": first frame must be >= 0, got ", beg);
    if (num < 1) fail(path.string(), ": number of frames must be >= 1, got ", num);
    if (stride < 1) fail(path.string(), ": stride must be >= 1, got ", stride);
    detail::Decoder dec(path);
    const VideoInfo info = dec.info();
    const index_t last = beg + (num - 1) * stride;
    if (last >= info.frames)
        fail(path.string(), ": video too short: needs frame ", last, " (beg ", beg, ", num ", num, ", stride ", stride,
             "), has ", info.frames);
    Clip out;
    index_t got = 0;
    for (index_t idx = 0; got < num; ++idx) {
        const AVFrame* f = dec.next();
        if (!f) fail(path.string(), ": cannot read frame ", beg + got * stride, ": the stream ends after ", idx, " frames");
        if (idx != beg + got * stride) continue;
        if (got == 0) {
            out = Clip(num, index_t(f->height), index_t(f->width), index_t(3));
        } else if (f->height != out.extent(1) || f->width != out.extent(2)) {
            fail(path.string(), ": frame ", idx, " is ", f->width, "x", f->height, ", earlier frames ", out.extent(2), "x",
                 out.extent(1), " (the size changes mid-stream)");
        }
        dec.to_bgr(f, out.data() + got * out.extent(1) * out.extent(2) * 3);
        ++got;
    }
    return out;
}

/// One still image (PNG, or any image FFmpeg decodes) as BGR uint8 [H, W, 3].
inline Frame read_png(const std::filesystem::path& path) {
    detail::Decoder dec(path);
    const AVFrame* f = dec.next();
    if (!f) fail(path.string(), ": no image could be decoded");
    Frame out(index_t(f->height), index_t(f->width), index_t(3));
    dec.to_bgr(f, out.data());
    return out;
}

/// The image files of an image sequence, in name order: every *.png of a folder, or the
/// files matching a glob in the last path component (e.g. "dir/frame_*.png").
inline std::vector<std::filesystem::path> image_sequence_files(const std::filesystem::path& folder_or_glob) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path dir;
    std::string pattern;
    if (fs::is_directory(folder_or_glob, ec)) {
        dir = folder_or_glob;
        pattern = "*.png";
    } else {
        dir = folder_or_glob.parent_path();
        if (dir.empty()) dir = ".";
        pattern = folder_or_glob.filename().string();
        if (!fs::is_directory(dir, ec)) fail(folder_or_glob.string(), ": no such folder ", dir.string());
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file() && ::fnmatch(pattern.c_str(), e.path().filename().c_str(), 0) == 0)
            files.push_back(e.path());
    if (ec) fail(folder_or_glob.string(), ": cannot list ", dir.string(), ": ", ec.message());
    std::sort(files.begin(), files.end());
    return files;
}

/// An image sequence (see image_sequence_files) as a BGR uint8 clip [T, H, W, 3]; all
/// images must have one size.
inline Clip read_image_sequence(const std::filesystem::path& folder_or_glob) {
    const auto files = image_sequence_files(folder_or_glob);
    if (files.empty()) fail(folder_or_glob.string(), ": no images found");
    Clip out;
    for (std::size_t i = 0; i < files.size(); ++i) {
        const Frame f = read_png(files[i]);
        if (i == 0) {
            out = Clip(index_t(files.size()), f.extent(0), f.extent(1), index_t(3));
        } else if (f.extent(0) != out.extent(1) || f.extent(1) != out.extent(2)) {
            fail(files[i].string(), ": image is ", f.extent(1), "x", f.extent(0), ", ", files[0].string(), " is ",
                 out.extent(2), "x", out.extent(1), " (an image sequence needs one size)");
        }
        std::memcpy(out.data() + index_t(i) * f.size(), f.data(), std::size_t(f.size()));
    }
    return out;
}

namespace detail {

/// Container and encoder of a video file, chosen by its extension.
struct VideoFormat {
    const char* muxer;
    const char* encoder;  ///< FFmpeg encoder name
    const char* what;     ///< for messages
};

inline VideoFormat video_format(const std::filesystem::path& path) {
    std::string ext = path.extension().string();
    for (auto& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".mp4" || ext == ".m4v") return {"mp4", "libx264", "H.264 in MP4"};
    if (ext == ".mov") return {"mov", "libx264", "H.264 in QuickTime"};
    if (ext == ".mkv") return {"matroska", "libx264", "H.264 in Matroska"};
    if (ext == ".webm") return {"webm", "libvpx-vp9", "VP9 in WebM"};
    if (ext == ".avi") return {"avi", "mpeg4", "MPEG-4 part 2 in AVI"};
    fail(path.string(), ": unknown video type \"", ext, "\" (expected .mp4, .m4v, .mov, .mkv, .webm or .avi)");
}

}  // namespace detail

/// Writes RGB uint8 frames [T, H, W, 3] at `fps` in the container and codec `vf`
/// (write_video / write_mp4 below).
inline void write_video_as(const std::filesystem::path& path, const detail::VideoFormat& vf, const ClipView& rgb,
                           double fps, const Mp4Options& opt = {}) {
    using namespace detail;
    check_rgb_clip(rgb, path, "write_video");
    const index_t T = rgb.extent(0), H = rgb.extent(1), W = rgb.extent(2);
    if (H % 2 || W % 2)
        fail(path.string(), ": ", vf.what, " with yuv420p needs an even width and height, the frames are ", W, "x", H,
             " (crop or pad them first)");
    if (!(fps > 0) || !std::isfinite(fps)) fail(path.string(), ": frame rate must be positive, got ", fps);
    const AVCodec* codec = avcodec_find_encoder_by_name(vf.encoder);
    if (!codec && std::string(vf.encoder) == "libx264") codec = avcodec_find_encoder(AV_CODEC_ID_H264);
    if (!codec) fail(path.string(), ": this FFmpeg has no ", vf.encoder, " encoder (needed for ", vf.what, ")");

    TempOutput tmp(path);
    MuxerOutput mux;
    int r = avformat_alloc_output_context2(&mux.fmt, nullptr, vf.muxer, nullptr);
    if (r < 0 || !mux.fmt) fail(path.string(), ": cannot create a ", vf.muxer, " muxer: ", av_error(r));
    AVStream* st = avformat_new_stream(mux.fmt, nullptr);
    if (!st) fail(path.string(), ": cannot add a video stream");
    CodecContextPtr enc(avcodec_alloc_context3(codec));
    if (!enc) fail(path.string(), ": out of memory (avcodec_alloc_context3)");
    const AVRational rate = av_d2q(fps, 65535);  // MPEG-4 (.avi) takes time bases up to 65535
    enc->width = int(W);
    enc->height = int(H);
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->framerate = rate;
    enc->time_base = av_inv_q(rate);
    enc->gop_size = 12;
    if (mux.fmt->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    const std::string codec_name = codec->name;
    if (codec_name == "libx264") {
        av_opt_set(enc->priv_data, "preset", opt.preset.c_str(), 0);
        av_opt_set(enc->priv_data, "crf", std::to_string(opt.crf).c_str(), 0);
    } else if (codec_name == "libvpx-vp9") {
        enc->bit_rate = 0;  // constant quality
        av_opt_set(enc->priv_data, "crf", std::to_string(std::min(opt.crf + 12, 63)).c_str(), 0);
        av_opt_set(enc->priv_data, "deadline", "good", 0);
        av_opt_set(enc->priv_data, "cpu-used", "4", 0);
    } else if (codec_name == "mpeg4") {
        enc->flags |= AV_CODEC_FLAG_QSCALE;
        enc->global_quality = FF_QP2LAMBDA * 2;  // high quality
    }
    r = avcodec_open2(enc.get(), codec, nullptr);
    if (r < 0) fail(path.string(), ": cannot open the ", codec->name, " encoder: ", av_error(r));
    r = avcodec_parameters_from_context(st->codecpar, enc.get());
    if (r < 0) fail(path.string(), ": bad encoder parameters: ", av_error(r));
    st->time_base = enc->time_base;
    st->avg_frame_rate = rate;
    r = avio_open(&mux.fmt->pb, tmp.tmp().c_str(), AVIO_FLAG_WRITE);
    if (r < 0) fail(path.string(), ": cannot open the temporary file ", tmp.tmp(), ": ", av_error(r));
    r = avformat_write_header(mux.fmt, nullptr);
    if (r < 0) fail(path.string(), ": cannot write the ", vf.muxer, " header: ", av_error(r));

    SwsPtr sws(sws_getContext(int(W), int(H), AV_PIX_FMT_RGB24, int(W), int(H), AV_PIX_FMT_YUV420P, SWS_BICUBIC,
                              nullptr, nullptr, nullptr));
    if (!sws) fail(path.string(), ": cannot convert rgb24 to yuv420p");
    FramePtr frame = make_frame(path);
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = int(W);
    frame->height = int(H);
    r = av_frame_get_buffer(frame.get(), 0);
    if (r < 0) fail(path.string(), ": out of memory (frame buffer): ", av_error(r));
    PacketPtr pkt = make_packet(path);

    auto drain = [&]() {
        for (;;) {
            int rr = avcodec_receive_packet(enc.get(), pkt.get());
            if (rr == AVERROR(EAGAIN) || rr == AVERROR_EOF) return;
            if (rr < 0) fail(path.string(), ": encoding failed: ", av_error(rr));
            av_packet_rescale_ts(pkt.get(), enc->time_base, st->time_base);
            pkt->stream_index = st->index;
            rr = av_interleaved_write_frame(mux.fmt, pkt.get());
            if (rr < 0) fail(path.string(), ": cannot write a packet: ", av_error(rr));
        }
    };
    for (index_t t = 0; t < T; ++t) {
        r = av_frame_make_writable(frame.get());
        if (r < 0) fail(path.string(), ": out of memory (frame buffer): ", av_error(r));
        const std::vector<u8> src = packed_frame(rgb, t);
        const u8* src_data[4] = {src.data(), nullptr, nullptr, nullptr};
        const int src_stride[4] = {int(W * 3), 0, 0, 0};
        sws_scale(sws.get(), src_data, src_stride, 0, int(H), frame->data, frame->linesize);
        frame->pts = t;
        r = avcodec_send_frame(enc.get(), frame.get());
        if (r < 0) fail(path.string(), ": encoding failed: ", av_error(r));
        drain();
    }
    r = avcodec_send_frame(enc.get(), nullptr);
    if (r < 0) fail(path.string(), ": encoding failed: ", av_error(r));
    drain();
    r = av_write_trailer(mux.fmt);
    if (r < 0) fail(path.string(), ": cannot write the ", vf.muxer, " trailer: ", av_error(r));
    r = avio_closep(&mux.fmt->pb);
    if (r < 0) fail(path.string(), ": write failed: ", av_error(r));
    tmp.commit();
}

/// Writes RGB uint8 frames [T, H, W, 3] at `fps` as a video whose type follows the file's
/// extension: H.264 (libx264, yuv420p, `opt.crf`, `opt.preset`) in .mp4 / .m4v / .mov /
/// .mkv, VP9 (libvpx, constant quality) in .webm, MPEG-4 part 2 in .avi. yuv420p needs
/// even sizes: odd ones are an error (crop or pad the frames first).
inline void write_video(const std::filesystem::path& path, const ClipView& rgb, double fps, const Mp4Options& opt = {}) {
    write_video_as(path, detail::video_format(path), rgb, fps, opt);
}

/// H.264 in MP4, whatever the file is called (recon.sh's rec.mp4 / enc.mp4).
inline void write_mp4(const std::filesystem::path& path, const ClipView& rgb, double fps, const Mp4Options& opt = {}) {
    write_video_as(path, {"mp4", "libx264", "H.264 in MP4"}, rgb, fps, opt);
}

/// Writes one RGB uint8 frame [H, W, 3] as a PNG (lossless, rgb24).
inline void write_png(const std::filesystem::path& path, const FrameView& rgb) {
    using namespace detail;
    const index_t H = rgb.extent(0), W = rgb.extent(1);
    if (rgb.extent(2) != 3) fail(path.string(), ": write_png needs an RGB frame [H, W, 3], got ", rgb.extents().str());
    if (H < 1 || W < 1) fail(path.string(), ": write_png: empty frame ", rgb.extents().str());
    const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!codec) fail(path.string(), ": this FFmpeg has no PNG encoder");
    CodecContextPtr enc(avcodec_alloc_context3(codec));
    if (!enc) fail(path.string(), ": out of memory (avcodec_alloc_context3)");
    enc->width = int(W);
    enc->height = int(H);
    enc->pix_fmt = AV_PIX_FMT_RGB24;
    enc->time_base = AVRational{1, 1};
    int r = avcodec_open2(enc.get(), codec, nullptr);
    if (r < 0) fail(path.string(), ": cannot open the PNG encoder: ", av_error(r));
    FramePtr frame = make_frame(path);
    frame->format = AV_PIX_FMT_RGB24;
    frame->width = int(W);
    frame->height = int(H);
    r = av_frame_get_buffer(frame.get(), 0);
    if (r < 0) fail(path.string(), ": out of memory (frame buffer): ", av_error(r));
    for (index_t y = 0; y < H; ++y) {
        u8* row = frame->data[0] + y * frame->linesize[0];
        for (index_t x = 0; x < W; ++x)
            for (index_t c = 0; c < 3; ++c) row[x * 3 + c] = rgb(y, x, c);
    }
    frame->pts = 0;
    PacketPtr pkt = make_packet(path);
    r = avcodec_send_frame(enc.get(), frame.get());
    if (r < 0) fail(path.string(), ": PNG encoding failed: ", av_error(r));
    r = avcodec_send_frame(enc.get(), nullptr);
    if (r < 0) fail(path.string(), ": PNG encoding failed: ", av_error(r));
    std::vector<u8> bytes;
    for (;;) {
        r = avcodec_receive_packet(enc.get(), pkt.get());
        if (r == AVERROR_EOF) break;
        if (r < 0) fail(path.string(), ": PNG encoding failed: ", av_error(r));
        bytes.insert(bytes.end(), pkt->data, pkt->data + pkt->size);
        av_packet_unref(pkt.get());
    }
    if (bytes.empty()) fail(path.string(), ": PNG encoder produced no data");
    io::write_atomically(path, [&](std::FILE* f) { io::write_bytes(f, bytes.data(), bytes.size(), path); });
}

/// Reverses the channel order of [..., 3] frames (BGR <-> RGB), exact.
inline Clip swap_rb(const ClipView& c) {
    if (c.extent(3) != 3) fail("swap_rb: frames must be [T, H, W, 3], got ", c.extents().str());
    Clip out(c.extent(0), c.extent(1), c.extent(2), c.extent(3));
    for (index_t t = 0; t < c.extent(0); ++t)
        for (index_t y = 0; y < c.extent(1); ++y)
            for (index_t x = 0; x < c.extent(2); ++x)
                for (index_t k = 0; k < 3; ++k) out(t, y, x, k) = c(t, y, x, 2 - k);
    return out;
}

}  // namespace cascadev::video
