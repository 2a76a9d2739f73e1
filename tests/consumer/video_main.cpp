// cascadev::video_io from an installed package: a PNG round trip through FFmpeg.
#include <cascadev/video/video_io.hpp>
#include <cstdio>
#include <filesystem>

int main() {
    using namespace cascadev;
    video::Frame f(index_t(2), index_t(3), index_t(3));
    for (index_t i = 0; i < f.size(); ++i) f.data()[i] = std::uint8_t(i * 13);
    const auto path = std::filesystem::temp_directory_path() / "cascadev_consumer.png";
    video::write_png(path, f.view());
    const auto back = video::read_png(path);  // BGR
    std::filesystem::remove(path);
    if (back.extent(1) != 3 || back(1, 2, 0) != f(1, 2, 2) || video::clip_fps(10, 4) != 2) {
        std::printf("consumer_video: unexpected result\n");
        return 1;
    }
    std::printf("consumer_video: ok\n");
    return 0;
}
