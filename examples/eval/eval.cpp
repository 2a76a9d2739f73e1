// cascadev-eval: CascadeV's evaluation (the paper: per-frame PSNR / SSIM / LPIPS over the
// first 200 clips of Inter4K at 1024x1024) as one command, resumable, and sharded over MPI
// ranks when started by mpirun or a scheduler (docs/evaluation.md).
//
//   cascadev-eval SOURCE --weights DIR [--out eval_out] [reconstruct's options]
//                 [--lpips DIR] [--save-videos] [--force] [--quiet]
//   cascadev-eval --demo [--out eval_demo]         tiny random models on synthetic clips
//   cascadev-eval --make-clips DIR [--count 3] [--clip-frames 8] [--clip-size 64]
//   mpirun -np 4 cascadev-eval SOURCE --weights DIR --out eval_out
//
// SOURCE: a folder (every .mp4 .mov .avi .webm .mkv .safetensors in it, recursively,
// sorted) or a list file (one path per line, relative to the list's folder; # comments).
// Each clip is reconstructed as cascadev-reconstruct does (same options and defaults =
// recon.sh; the noise restarts from --seed for every clip) and scored against its
// preprocessed frames.
//
// Writes into --out: rows/NNNNNN.json, one per clip (written atomically when the clip is
// done: per-frame values, means, seconds per stage, or the error), and the tables merged
// from them, results.csv (one line per clip + "ALL") and results.json (+ settings and
// per-frame values); settings.json records the options. A rerun skips clips whose row is
// complete, so a crash loses at most the clip in flight; a rerun with different options
// is refused unless --force. Clip errors (a corrupt file, too few frames) are recorded in
// the clip's row and the run goes on; the exit code is then 1.
//
// Under MPI, rank r takes clips r, r + N, r + 2N, ...; every rank writes its rows, rank 0
// gathers them (no shared file system needed) and writes the tables. Ranks on one machine
// split its cores (unless OMP_NUM_THREADS is set).
#include <omp.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cascadev/io/safetensors.hpp"
#include "cascadev/vae.hpp"
#include "../common/cli.hpp"
#include "../common/clip_input.hpp"
#include "../common/lpips_choice.hpp"
#include "../common/noise_choice.hpp"
#include "../common/outputs.hpp"
#include "../common/progress_bar.hpp"
#include "../common/recon_options.hpp"
#include "../common/synthetic_clip.hpp"
#include "../common/variants.hpp"
#include "cluster.hpp"
#include "inputs.hpp"
#include "results.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace cascadev;
using examples::UsageError;

namespace {

struct Args : examples::ReconArgs {
    std::string source, out, make_clips, lpips, lpips_variant = "alex";
    index_t count = 3, clip_frames = 8, clip_size = 64;
    std::uint64_t weights_seed = 4242;
    bool demo = false, save_videos = false, force = false, quiet = false;
};

/// Synthetic clips clip_000.safetensors ... (BGR uint8 [T, S, S, 3] under "frames").
void make_clips(const fs::path& dir, index_t count, index_t frames, index_t size) {
    fs::create_directories(dir);
    for (index_t i = 0; i < count; ++i) {
        char name[64];
        std::snprintf(name, sizeof name, "clip_%03lld.safetensors", (long long)i);
        io::SafetensorsWriter w;
        w.add("frames", examples::synthetic_clip(frames, size, int(i)));
        w.set_metadata("layout", "BGR uint8 [T, H, W, 3]");
        w.write(dir / name);
    }
}

/// Everything that changes a clip's row: the reconstruction options, the weights (the
/// folder as given, or --demo's seed) and the LPIPS weights.
std::string eval_settings_key(const Args& a) {
    const std::string weights = a.demo ? "random:" + std::to_string(a.weights_seed) : a.weights;
    return a.settings_key() + " weights=" + weights +
           (a.lpips.empty() ? "" : " lpips=" + a.lpips_variant + ":" + a.lpips);
}

/// settings.json: the options that change results. A different stored one stops the run
/// (unless --force), so one table never mixes settings.
nlohmann::json settings_json(const Args& a) {
    return {{"settings", eval_settings_key(a)}, {"variant", a.variant}, {"size", a.size}, {"frames", a.frames},
            {"stride", a.stride},           {"sampler", a.sampler},         {"steps", a.steps},     {"seed", a.seed}, {"rng", a.rng},
            {"slice_size", a.slice_size},   {"weights", a.demo ? "random (seeded)" : a.weights},
            {"lpips", a.lpips.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.lpips)}};
}

/// Read-only: fails when `out` holds results of other settings (unless `force`).
void check_settings(const fs::path& out, const nlohmann::json& settings, bool force) {
    const fs::path file = out / "settings.json";
    if (fs::exists(file) && !force) {
        std::ifstream f(file);
        const auto old = nlohmann::json::parse(f, nullptr, false);
        if (old.is_discarded() || old.value("settings", "") != settings["settings"].get<std::string>())
            fail("--out ", out.string(), ": holds results made with other settings (", file.string(), ": ",
                 old.is_discarded() ? std::string("unreadable") : old.value("settings", std::string("?")),
                 "); use another --out, or --force to redo every clip");
    }
}

/// One clip through the whole chain: its row (status ok with values, or error).
template <class V, class Noise>
nlohmann::json evaluate_clip(const VideoVAE<V>& vae, const examples::LpipsScorer& lpips, const examples::EvalInput& in,
                             std::size_t index, const Args& a, const pipeline::ReconstructOptions& opt, Noise&& noise,
                             const fs::path& out) {
    nlohmann::json row = {{"index", index}, {"video", in.name}, {"path", in.path.string()},
                          {"settings", eval_settings_key(a)}};
    pipeline::Stopwatch total;
    try {
        pipeline::Stopwatch read_sw;
        const auto clip = examples::read_input_clip(in.path.string(), a.frames, "frames", a.stride);
        const double read_s = read_sw.seconds();
        try {
            pipeline::check_reconstruct<typename V::dit>(clip.frames.extent(0), clip.frames.extent(1),
                                                         clip.frames.extent(2), opt);
        } catch (const std::exception& e) {
            fail(in.path.string(), ": ", e.what());
        }
        const auto r = vae.reconstruct(clip.frames.view(), opt, noise);
        if (a.save_videos) {
            fs::create_directories(out / "videos");
#ifdef CASCADEV_HAVE_FFMPEG
            const char* ext = ".mp4";
#else
            const char* ext = ".safetensors";
#endif
            auto file = examples::row_path(out, index).filename().replace_extension(ext);
            examples::write_clip_file(out / "videos" / file, r.decoded_u8.view(), a.fps);
        }
        row.update(examples::metrics_json(r.metrics));
        row["status"] = "ok";
        row["frames"] = r.input.extent(0);
        row["height"] = r.input.extent(1);
        row["width"] = r.input.extent(2);
        row["lpips"] = nullptr;
        row["lpips_mean"] = nullptr;
        pipeline::Stopwatch lpips_sw;
        if (lpips) {  // between the same frames as PSNR / SSIM: preprocessed input vs 8-bit reconstruction
            const auto d = lpips(r.input.view(), r.decoded_u8.view());
            row["lpips"] = d.distance;
            row["lpips_mean"] = d.mean();
        }
        const double lpips_s = lpips ? lpips_sw.seconds() : 0.0;
        row["seconds"] = {{"read", read_s},         {"preprocess", r.seconds.preprocess}, {"encode", r.seconds.encode},
                          {"preview", r.seconds.preview}, {"refine", r.seconds.refine},     {"decode", r.seconds.decode},
                          {"metrics", r.seconds.metrics}, {"lpips", lpips_s},               {"total", total.seconds()}};
    } catch (const std::exception& e) {
        row["status"] = "error";
        row["error"] = examples::one_line(e.what());
        row["seconds"] = {{"total", total.seconds()}};
    }
    return row;
}

/// An error every rank knows about (agreed through Cluster::all): reported once, by the
/// rank that had it (rank 0 first), and every rank returns 1 without aborting the job.
int report_error(const examples::Cluster& cluster, const std::string& error) {
    if (!error.empty())
        std::fprintf(stderr, "cascadev-eval: error: %s%s\n",
                     cluster.size() > 1 ? ("rank " + std::to_string(cluster.rank()) + ": ").c_str() : "",
                     examples::one_line(error).c_str());
    return 1;
}

template <class V>
int run(const Args& a, const examples::Cluster& cluster) {
    const auto opt = a.options();
    const fs::path out = a.out.empty() ? fs::path(a.demo ? "eval_demo" : "eval_out") : fs::path(a.out);
    fs::path source = a.source;
    if (a.demo) {
        source = out / "clips";
        if (cluster.root() && !fs::exists(source)) make_clips(source, a.count, a.clip_frames, a.clip_size);
        cluster.all(true);  // the other ranks wait until rank 0 has written them
    }
    // Everything that can fail before the first clip, on every rank, agreed on before any
    // rank goes on (a rank that stopped alone would leave the others waiting). The output
    // folder is made only after that, so a failed start leaves none behind.
    std::string setup_error;
    std::vector<examples::EvalInput> inputs;
    VideoVAE<V> vae;
    examples::LpipsScorer lpips;
    try {
        if (cluster.root()) check_settings(out, settings_json(a), a.force);
        inputs = examples::list_eval_inputs(source);
        // Ranks sharing a machine share its cores.
        if (!std::getenv("OMP_NUM_THREADS") && cluster.local_size() > 1)
            omp_set_num_threads(std::max(1, omp_get_num_procs() / cluster.local_size()));
        if (a.demo) vae.load_random(a.weights_seed);
        else vae.load_directory(a.weights);
        lpips = examples::load_lpips(a.lpips, a.lpips_variant);
    } catch (const std::exception& e) {
        setup_error = e.what();
    }
    if (!cluster.all(setup_error.empty())) return report_error(cluster, setup_error);
    // Every rank can start: now the output folder (on every rank: no shared file system needed).
    try {
        fs::create_directories(out / "rows");
        if (cluster.root()) examples::write_text(out / "settings.json", settings_json(a).dump(2) + "\n");
    } catch (const std::exception& e) {
        setup_error = e.what();
    }
    if (!cluster.all(setup_error.empty())) return report_error(cluster, setup_error);

    // This rank's clips: i = rank, rank + size, ...
    std::vector<std::size_t> mine;
    for (std::size_t i = std::size_t(cluster.rank()); i < inputs.size(); i += std::size_t(cluster.size())) mine.push_back(i);
    examples::ProgressBar bar(!a.quiet && cluster.root());
    bar.set_frames_per_step("clips", 1);
    bar.start("clips");
    nlohmann::json my_rows = nlohmann::json::array();
    std::size_t resumed = 0, done = 0;
    for (std::size_t k = 0; k < mine.size(); ++k) {
        const std::size_t i = mine[k];
        const fs::path row_file = examples::row_path(out, i);
        auto row = examples::complete_row(row_file, inputs[i].name, eval_settings_key(a));
        if (row && !a.force) {
            ++resumed;
        } else {
            row = evaluate_clip(vae, lpips, inputs[i], i, a, opt, examples::make_noise(a.rng, a.seed), out);
            examples::write_text(row_file, row->dump(1) + "\n");
            ++done;
        }
        my_rows.push_back(*row);
        if (cluster.size() == 1 && k + 1 < mine.size()) {  // tables of the clips so far, kept current
            examples::EvalTable partial;
            partial.lpips = bool(lpips);
            partial.rows.assign(my_rows.begin(), my_rows.end());
            partial.write(out, settings_json(a));
        }
        bar("clips", int(k + 1), int(mine.size()));
    }
    bar.close();

    // Rank 0 gathers every rank's rows, stores those it lacks, writes the tables.
    const nlohmann::json mine_json = {{"rows", my_rows}, {"done", done}, {"resumed", resumed}};
    const auto gathered = cluster.gather(mine_json.dump());
    if (!cluster.root()) return 0;
    done = resumed = 0;
    examples::EvalTable table;
    table.lpips = bool(lpips);
    std::vector<nlohmann::json> by_index(inputs.size());
    for (const auto& text : gathered) {
        const auto part = nlohmann::json::parse(text);
        done += part["done"].get<std::size_t>();
        resumed += part["resumed"].get<std::size_t>();
        for (const auto& r : part["rows"]) {
            const std::size_t i = r["index"].get<std::size_t>();
            if (i < by_index.size()) by_index[i] = r;
        }
    }
    std::size_t failed = 0;
    for (std::size_t i = 0; i < by_index.size(); ++i) {
        if (by_index[i].is_null()) fail("internal: no row for clip ", i, " (", inputs[i].name, ")");
        if (by_index[i].value("video", "") != inputs[i].name)  // each rank lists SOURCE itself
            fail("clip ", i, " is ", by_index[i].value("video", ""), " on another rank but ", inputs[i].name,
                 " on rank 0: give every rank the same SOURCE");
        if (cluster.size() > 1 && !fs::exists(examples::row_path(out, i)))
            examples::write_text(examples::row_path(out, i), by_index[i].dump(1) + "\n");
        if (by_index[i].value("status", "") != "ok") ++failed;
        table.rows.push_back(by_index[i]);
    }
    table.write(out, settings_json(a));

    const auto o = table.overall();
    std::printf("%zu clip(s): %zu evaluated now, %zu resumed, %zu failed; %zu rank(s)\n", inputs.size(), done, resumed,
                failed, std::size_t(cluster.size()));
    std::printf("overall over %zu frame(s): PSNR %s dB  SSIM %s", o["frames"].get<std::size_t>(),
                examples::eval_detail::fmt(examples::eval_detail::number(o["psnr"]), "%.4f").c_str(),
                examples::eval_detail::fmt(examples::eval_detail::number(o["ssim"]), "%.4f").c_str());
    if (o["lpips"].is_number()) std::printf("  LPIPS %.4f", o["lpips"].get<double>());
    std::printf("\nwrote %s and %s\n", (out / "results.csv").string().c_str(), (out / "results.json").string().c_str());
    for (const auto& r : table.rows)
        if (r.value("status", "") != "ok")
            std::fprintf(stderr, "cascadev-eval: %s: %s\n", r.value("video", "").c_str(), r.value("error", "").c_str());
    return failed ? 1 : 0;
}

template <class V>
int guarded_run(const Args& a, const examples::Cluster& cluster, bool& threw) {
    try {
        return run<V>(a, cluster);
    } catch (...) {
        threw = true;
        throw;
    }
}

}  // namespace

int main(int argc, char** argv) {
    examples::Cluster cluster(&argc, &argv);
    Args a;
    po::options_description od("cascadev-eval: reconstruct a set of clips and tabulate PSNR / SSIM / LPIPS\n"
                                "usage: cascadev-eval SOURCE --weights DIR [options] | --demo | --make-clips DIR\noptions");
    od.add_options()("help,h", "this help")("source", po::value(&a.source), "folder of clips, or a list file")(
        "out", po::value(&a.out), "output folder (default eval_out; eval_demo with --demo)");
    a.add_to(od);
    od.add_options()("lpips", po::value(&a.lpips), examples::lpips_help)(
        "lpips-variant", po::value(&a.lpips_variant)->default_value(a.lpips_variant), "alex | alex_tiny (tests)")(
        "save-videos", po::bool_switch(&a.save_videos), "also write each reconstruction to OUT/videos/")(
        "force", po::bool_switch(&a.force), "redo every clip, even with complete rows / other settings")(
        "demo", po::bool_switch(&a.demo), "tiny random models on --count synthetic clips (no downloads)")(
        "make-clips", po::value(&a.make_clips), "write --count synthetic clips into this folder and exit")(
        "count", po::value(&a.count)->default_value(a.count), "number of synthetic clips")(
        "clip-frames", po::value(&a.clip_frames)->default_value(a.clip_frames), "frames of each synthetic clip")(
        "clip-size", po::value(&a.clip_size)->default_value(a.clip_size), "side of each synthetic clip")(
        "weights-seed", po::value(&a.weights_seed)->default_value(a.weights_seed), "seed of --demo's random weights")(
        "quiet,q", po::bool_switch(&a.quiet), "no progress on stderr");
    po::positional_options_description pos;
    pos.add("source", 1);
    bool threw = false;  // an error not every rank knows about
    const int rc = examples::guarded_main("cascadev-eval", [&]() -> int {
        po::variables_map vm;
        if (examples::parse_command_line(argc, argv, od, pos, vm)) return 0;
        if (!a.make_clips.empty()) {
            if (cluster.root()) make_clips(a.make_clips, a.count, a.clip_frames, a.clip_size);
            return 0;
        }
        if (a.demo) {
            if (!a.source.empty() || !a.weights.empty()) throw UsageError("--demo takes no SOURCE and no --weights");
            if (!vm["variant"].defaulted() && a.variant != "tiny")
                throw UsageError("--demo runs the tiny variant; --variant " + a.variant + " does not apply");
            a.variant = "tiny";
            a.size = a.clip_size;
            a.frames = 0;  // every frame of the synthetic clips (--clip-frames)
            return guarded_run<vae::Tiny>(a, cluster, threw);
        }
        if (a.source.empty()) throw UsageError("no SOURCE folder or list given (or use --demo)");
        if (a.weights.empty()) throw UsageError("--weights DIR is required");
        return examples::with_vae_variant(a.variant,
                                          [&](auto v) { return guarded_run<decltype(v)>(a, cluster, threw); });
    });
    // An error on one rank while the others go on would leave them waiting: end them all.
    if (threw && cluster.size() > 1) cluster.abort(rc);
    return rc;
}
