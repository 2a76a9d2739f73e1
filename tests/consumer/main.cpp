// Uses the installed headers end to end: a tensor, a CPU op, a safetensors round trip.
#include <cascadev/backend/cpu/resize.hpp>
#include <cascadev/core.hpp>
#include <cascadev/io.hpp>
#include <cstdio>
#include <filesystem>

int main() {
    using namespace cascadev;
    Tensor<float, Extents<1, 1, 2, 2>> x;
    for (int i = 0; i < 4; ++i) x.data()[i] = float(i);
    const auto y = resize_bilinear_by(x.view(), 2);
    const auto path = std::filesystem::temp_directory_path() / "cascadev_consumer.safetensors";
    io::SafetensorsWriter w;
    w.add("y", y);
    w.write(path);
    const auto back = io::SafetensorsReader(path).load<float, 4>("y");
    std::filesystem::remove(path);
    if (back.extent(3) != 4 || back(0, 0, 3, 3) != 3.0f) {
        std::printf("consumer: unexpected result\n");
        return 1;
    }
    std::printf("consumer: ok, %s\n", back.extents().str().c_str());
    return 0;
}
