// cascadev-convert IN.pth OUT.safetensors [--ema] [--dtype f32|f16|bf16] [--drop-pos-embed]
// Converts a PyTorch zip checkpoint (torch.save, torch >= 1.6) to safetensors: selects
// state_dict (or state_dict_ema with --ema), gathers strided tensors, optionally converts
// floating tensors to one dtype, and writes the output atomically (a temporary file that
// is renamed into place). Tensors are streamed one at a time from the mapped input, so
// memory stays at about one tensor beyond the mapped pages.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cascadev/io/atomic_file.hpp"
#include "cascadev/io/pth.hpp"

namespace po = boost::program_options;
using namespace cascadev;

namespace {

std::vector<std::byte> converted(const io::TensorSource& src, const std::string& name, DType to) {
    const auto& t = src.info(name);
    if (to == t.dtype || !is_floating(t.dtype)) return src.read_raw(name);
    const std::size_t n = std::size_t(t.numel());
    std::vector<std::byte> out(n * dtype_size(to));
    const io::StridedLayout l = src.layout(name);
    switch (to) {
        case DType::F32: io::gather_elements(l, reinterpret_cast<float*>(out.data())); break;
        case DType::F16: io::gather_elements(l, reinterpret_cast<float16*>(out.data())); break;
        case DType::BF16: io::gather_elements(l, reinterpret_cast<bfloat16*>(out.data())); break;
        default: fail("unsupported target dtype");
    }
    return out;
}

int run(const std::string& in, const std::string& out, bool ema, const std::string& dtype, bool drop) {
    io::PthOptions opt;
    opt.dict = ema ? "state_dict_ema" : "state_dict";
    if (drop) opt.drop = io::reference_drop_keys();
    const io::PthReader src(in, opt);
    std::optional<DType> to;
    if (!dtype.empty()) {
        if (dtype == "f32") to = DType::F32;
        else if (dtype == "f16") to = DType::F16;
        else if (dtype == "bf16") to = DType::BF16;
        else fail("--dtype must be f32, f16 or bf16, got \"", dtype, "\"");
    }
    std::vector<std::string> names = src.names();
    std::sort(names.begin(), names.end());
    nlohmann::json header = nlohmann::json::object();
    std::size_t off = 0;
    std::vector<DType> types;
    for (const auto& n : names) {
        const auto& t = src.info(n);
        const DType d = to && is_floating(t.dtype) ? *to : t.dtype;
        const std::size_t bytes = std::size_t(t.numel()) * dtype_size(d);
        header[n] = {{"dtype", std::string(dtype_name(d))}, {"shape", t.shape}, {"data_offsets", {off, off + bytes}}};
        off += bytes;
        types.push_back(d);
    }
    header["__metadata__"] = {{"format", "pt"}, {"source", std::filesystem::path(in).filename().string()},
                              {"dict", opt.dict}};
    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    io::write_atomically(out, [&](std::FILE* f) {
        std::uint8_t len[8];
        for (int i = 0; i < 8; ++i) len[i] = std::uint8_t(std::uint64_t(h.size()) >> (8 * i));
        io::write_bytes(f, len, 8, out);
        io::write_bytes(f, h.data(), h.size(), out);
        for (std::size_t i = 0; i < names.size(); ++i) {
            const auto b = converted(src, names[i], types[i]);
            io::write_bytes(f, b.data(), b.size(), out);
            src.release(names[i]);
        }
    });
    std::printf("%s: %zu tensors from \"%s\"%s -> %s (%zu bytes of data); peak RSS %.1f MiB\n", in.c_str(),
                names.size(), opt.dict.c_str(),
                src.dropped().empty() ? "" : (" (dropped " + src.dropped() + ")").c_str(), out.c_str(), off,
                double(io::peak_rss()) / (1 << 20));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string in, out, dtype;
    po::options_description opts("cascadev-convert IN.pth OUT.safetensors [options]");
    opts.add_options()("help,h", "show this help")                                                  //
        ("input", po::value(&in), "PyTorch zip checkpoint (.pth)")                                   //
        ("output", po::value(&out), "safetensors file to write (atomically)")                        //
        ("ema", "convert state_dict_ema instead of state_dict")                                      //
        ("dtype", po::value(&dtype), "convert floating tensors to f32, f16 or bf16")                 //
        ("drop-pos-embed", "drop pos_embed (or base_model./model.pos_embed) as the reference does");
    po::positional_options_description pos;
    pos.add("input", 1).add("output", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::fprintf(stderr, "cascadev-convert: %s\ntry --help\n", e.what());
        return 2;
    }
    if (vm.count("help")) {
        std::cout << opts;
        return 0;
    }
    if (in.empty() || out.empty()) {
        std::fprintf(stderr, "cascadev-convert: need an input .pth and an output .safetensors (try --help)\n");
        return 2;
    }
    try {
        return run(in, out, vm.count("ema") != 0, dtype, vm.count("drop-pos-embed") != 0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cascadev-convert: %s\n", e.what());
        return 1;
    }
}
