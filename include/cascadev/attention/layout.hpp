#pragma once
// Attention layouts as index maps (docs/reference/dit.md §6; golden/gen/dit_ref.py,
// window_index and DiT.block_forward).
//
// The tokens of one video are ordered (f, i, j) row-major: token (frame f, patch row i,
// patch column j) has index (f·H + i)·W + j (the patch embedding flattens each frame
// row-major, then frames are stacked frame-major). Several videos follow one another:
// video v's tokens start at v·T·H·W.
//
// A layout splits those tokens into disjoint windows that attend independently. No
// activation is ever permuted into a copy: a window is an arithmetic map from its member
// number r to a token index,
//
//     token(w, r) = window_base(w) + member_offset(r)
//
// - full 3D attention (attn_strides entry null): one window per video, member r is token r
//   of that video;
// - [ts, xs] (the reference's window_index): with gt = T/ts, gh = H/xs, gw = W/xs (each
//   must divide exactly and be non-zero, else the reference raises and so do we), window
//   w = (a·xs + b)·xs + c of a video holds frames a·gt .. a·gt+gt-1, rows b·gh .. b·gh+gh-1
//   and columns c·gw .. c·gw+gw-1 (a contiguous local block, not a dilated grid), and its
//   members are ordered (f, i, j) row-major inside the block:
//       r = (fl·gh + il)·gw + jl  ->  token ((a·gt + fl)·H + b·gh + il)·W + c·gw + jl.
//   [1,1] is the same map as full attention.
// Windows of several videos are numbered video-major: w = v·(ts·xs·xs) + local window.
#include <array>
#include <optional>
#include <vector>

#include "cascadev/core/error.hpp"
#include "cascadev/core/extents.hpp"

namespace cascadev {

/// The token grid of one video: frames × patch rows × patch columns.
struct TokenGrid {
    index_t frames = 1;
    index_t height = 1;
    index_t width = 1;

    constexpr index_t tokens() const { return frames * height * width; }
    /// Flat token index of (frame f, patch row i, patch column j), as in the reference.
    constexpr index_t index(index_t f, index_t i, index_t j) const { return (f * height + i) * width + j; }
    friend constexpr bool operator==(const TokenGrid&, const TokenGrid&) = default;
};

/// An `attn_strides` entry [ts, xs]: ts windows along time, xs × xs windows in space.
struct AttnStrides {
    index_t ts = 1;
    index_t xs = 1;
    friend constexpr bool operator==(const AttnStrides&, const AttnStrides&) = default;
};

/// Which tokens attend together: the windows of `videos` videos of one token grid.
class AttentionLayout {
public:
    /// Walks the member offsets of a window from member r on, without divisions.
    class Cursor {
    public:
        index_t offset() const { return (fl_ * H_ + il_) * W_ + jl_; }
        void next() {
            if (++jl_ < gw_) return;
            jl_ = 0;
            if (++il_ < gh_) return;
            il_ = 0;
            ++fl_;
        }

    private:
        friend class AttentionLayout;
        index_t fl_ = 0, il_ = 0, jl_ = 0;
        index_t gh_ = 1, gw_ = 1, H_ = 1, W_ = 1;
    };

    AttentionLayout() = default;

    /// Full 3D attention (strides null): one window per video over all its T·H·W tokens.
    static AttentionLayout full(TokenGrid grid, index_t videos = 1) {
        check_grid(grid, videos, "full");
        AttentionLayout l;
        l.grid_ = grid;
        l.videos_ = videos;
        l.full_ = true;
        l.ts_ = l.xs_ = 1;
        l.gt_ = grid.frames;
        l.gh_ = grid.height;
        l.gw_ = grid.width;
        return l;
    }

    /// The [ts, xs] layout of the reference (window_index); throws cascadev::Error when ts
    /// does not divide the frames or xs does not divide the patch rows and columns.
    static AttentionLayout windows(TokenGrid grid, AttnStrides s, index_t videos = 1) {
        check_grid(grid, videos, "windows");
        if (s.ts < 1 || s.xs < 1)
            fail("attention layout: strides [", s.ts, ", ", s.xs, "] must be positive");
        if (grid.frames % s.ts != 0 || grid.height % s.xs != 0 || grid.width % s.xs != 0)
            fail("attention layout: strides [", s.ts, ", ", s.xs, "] do not divide frames=", grid.frames,
                 ", grid=", grid.height, "x", grid.width,
                 " (the reference needs ts | frames and xs | both grid sides)");
        AttentionLayout l;
        l.grid_ = grid;
        l.videos_ = videos;
        l.full_ = false;
        l.ts_ = s.ts;
        l.xs_ = s.xs;
        l.gt_ = grid.frames / s.ts;
        l.gh_ = grid.height / s.xs;
        l.gw_ = grid.width / s.xs;
        return l;
    }

    /// An attn_strides entry: nullopt (null) is full attention, else windows(grid, *s).
    static AttentionLayout from_strides(TokenGrid grid, const std::optional<AttnStrides>& s, index_t videos = 1) {
        return s ? windows(grid, *s, videos) : full(grid, videos);
    }

    bool is_full() const { return full_; }
    const TokenGrid& grid() const { return grid_; }
    index_t videos() const { return videos_; }
    /// [ts, xs]; {1, 1} for full attention.
    AttnStrides strides() const { return {ts_, xs_}; }
    /// The block one window covers: gt frames × gh rows × gw columns.
    TokenGrid window_shape() const { return {gt_, gh_, gw_}; }

    /// Tokens of all videos (rows of q, k, v and the output).
    index_t tokens() const { return videos_ * grid_.tokens(); }
    index_t windows_per_video() const { return ts_ * xs_ * xs_; }
    /// Windows of all videos.
    index_t window_count() const { return videos_ * windows_per_video(); }
    /// Members per window (all windows have the same size).
    index_t window_size() const { return gt_ * gh_ * gw_; }

    /// Token index of member 0 of window w.
    index_t window_base(index_t w) const {
        const index_t per = windows_per_video();
        const index_t v = w / per, lw = w % per;
        const index_t a = lw / (xs_ * xs_), b = (lw / xs_) % xs_, c = lw % xs_;
        return v * grid_.tokens() + grid_.index(a * gt_, b * gh_, c * gw_);
    }
    /// Offset of member r from window_base (the same for every window).
    index_t member_offset(index_t r) const {
        const index_t fl = r / (gh_ * gw_), il = (r / gw_) % gh_, jl = r % gw_;
        return (fl * grid_.height + il) * grid_.width + jl;
    }
    /// Token index of member r of window w.
    index_t token(index_t w, index_t r) const { return window_base(w) + member_offset(r); }

    /// A cursor at member r: offset() is member_offset(r), next() steps to r + 1.
    Cursor cursor(index_t r) const {
        Cursor c;
        c.fl_ = r / (gh_ * gw_);
        c.il_ = (r / gw_) % gh_;
        c.jl_ = r % gw_;
        c.gh_ = gh_;
        c.gw_ = gw_;
        c.H_ = grid_.height;
        c.W_ = grid_.width;
        return c;
    }

    /// The token indices of window w in member order (for tests and tools; the kernels
    /// use window_base / cursor instead).
    std::vector<index_t> members(index_t w) const {
        if (w < 0 || w >= window_count())
            fail("attention layout: window ", w, " out of range [0, ", window_count(), ")");
        std::vector<index_t> out(static_cast<std::size_t>(window_size()));
        const index_t base = window_base(w);
        Cursor c = cursor(0);
        for (auto& t : out) {
            t = base + c.offset();
            c.next();
        }
        return out;
    }

private:
    static void check_grid(const TokenGrid& g, index_t videos, const char* what) {
        if (g.frames < 1 || g.height < 1 || g.width < 1 || videos < 1)
            fail("attention layout (", what, "): frames=", g.frames, ", grid=", g.height, "x", g.width,
                 ", videos=", videos, " must all be positive");
    }

    TokenGrid grid_{};
    index_t videos_ = 1;
    bool full_ = true;
    index_t ts_ = 1, xs_ = 1;
    index_t gt_ = 1, gh_ = 1, gw_ = 1;
};

}  // namespace cascadev
