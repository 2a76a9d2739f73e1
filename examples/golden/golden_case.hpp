#pragma once
// One golden case: case.json, its io tensors, optional weights and the variant config.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cascadev/io.hpp"

namespace cascadev::golden {

struct ExpectedOutput {
    std::string name;
    double tol = 0;
    std::optional<double> max_abs;
};

/// A computed tensor of any dtype and rank, as a component returns it.
struct NamedArray {
    DType dtype = DType::F32;
    std::vector<index_t> shape;
    std::vector<std::byte> bytes;

    template <class T, ExtentsType E>
    static NamedArray from(const View<T, E, cpu>& v) {
        using U = std::remove_const_t<T>;
        const auto c = contiguous_copy(v);
        NamedArray a{dtype_v<U>, {}, {}};
        for (index_t d : v.dims()) a.shape.push_back(d);
        const auto* p = reinterpret_cast<const std::byte*>(c.data());
        a.bytes.assign(p, p + std::size_t(v.size()) * sizeof(U));
        return a;
    }
    template <class T, ExtentsType E>
    static NamedArray from(const Tensor<T, E>& t) { return from(t.view()); }
};
using Outputs = std::map<std::string, NamedArray>;

class GoldenCase {
public:
    explicit GoldenCase(const std::filesystem::path& dir) : dir_(dir) {
        const auto json_path = dir / "case.json";
        std::ifstream in(json_path);
        if (!in) fail(json_path.string(), ": cannot open");
        try {
            json_ = nlohmann::json::parse(in);
            component_ = json_.at("component").get<std::string>();
            params_ = json_.value("params", nlohmann::json::object());
            for (const auto& n : json_.value("inputs", nlohmann::json::array())) inputs_.push_back(n.get<std::string>());
            for (const auto& [name, spec] : json_.at("outputs").items())
                outputs_.push_back({name, spec.at("tol").get<double>(),
                                    spec.contains("max_abs") ? std::optional<double>(spec["max_abs"].get<double>())
                                                             : std::nullopt});
            if (json_.contains("variant") && json_["variant"].is_string()) variant_ = json_["variant"].get<std::string>();
        } catch (const nlohmann::json::exception& e) {
            fail(json_path.string(), ": malformed case: ", e.what());
        }
        io_ = std::make_unique<io::SafetensorsReader>(dir / json_.value("io", std::string("io.safetensors")));
        // "weights": one file, or a list of files (relative to the case folder) whose keys
        // together make the model's (a large part shared by several cases is stored once).
        if (json_.contains("weights") && json_["weights"].is_string())
            weights_ = std::make_unique<io::WeightStore>(dir / json_["weights"].get<std::string>());
        else if (json_.contains("weights") && json_["weights"].is_array()) {
            weights_ = std::make_unique<io::WeightStore>();
            for (const auto& f : json_["weights"]) {
                if (!f.is_string()) fail(json_path.string(), ": \"weights\" must list file names");
                weights_->add_file(dir / f.get<std::string>());
            }
        }
    }

    const std::filesystem::path& dir() const { return dir_; }
    const std::string& component() const { return component_; }
    const nlohmann::json& params() const { return params_; }
    const std::vector<std::string>& inputs() const { return inputs_; }
    const std::vector<ExpectedOutput>& outputs() const { return outputs_; }
    const io::SafetensorsReader& io() const { return *io_; }
    const std::optional<std::string>& variant() const { return variant_; }

    const io::WeightStore& weights() const {
        if (!weights_) fail((dir_ / "case.json").string(), ": component ", component_, " needs weights but the case has none");
        return *weights_;
    }

    /// Required param; the error names the case and the key.
    template <class T>
    T param(const std::string& key) const {
        if (!params_.contains(key)) fail((dir_ / "case.json").string(), ": missing param \"", key, "\"");
        try {
            return params_.at(key).get<T>();
        } catch (const nlohmann::json::exception& e) {
            fail((dir_ / "case.json").string(), ": param \"", key, "\": ", e.what());
        }
    }
    bool has_param(const std::string& key) const { return params_.contains(key) && !params_[key].is_null(); }

    /// The case's variant config from the nearest variants.json above the case folder.
    nlohmann::json variant_config() const {
        if (!variant_) fail((dir_ / "case.json").string(), ": component ", component_, " needs a variant");
        for (auto p = std::filesystem::absolute(dir_); p.has_parent_path() && p != p.parent_path(); p = p.parent_path()) {
            const auto f = p / "variants.json";
            if (std::filesystem::exists(f)) {
                std::ifstream in(f);
                const auto all = nlohmann::json::parse(in);
                if (!all.contains(*variant_)) fail(f.string(), ": no variant \"", *variant_, "\"");
                return all[*variant_];
            }
        }
        fail((dir_ / "case.json").string(), ": no variants.json found above the case folder");
    }

private:
    std::filesystem::path dir_;
    nlohmann::json json_;
    std::string component_;
    nlohmann::json params_;
    std::vector<std::string> inputs_;
    std::vector<ExpectedOutput> outputs_;
    std::optional<std::string> variant_;
    std::unique_ptr<io::SafetensorsReader> io_;
    std::unique_ptr<io::WeightStore> weights_;
};

}  // namespace cascadev::golden
