#pragma once
// Errors carry the file, key, shape or option at fault; examples print what() and exit.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace cascadev {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Concatenates the arguments with operator<< into one message.
template <class... Args>
std::string concat(Args&&... args) {
    std::ostringstream os;
    (os << ... << std::forward<Args>(args));
    return os.str();
}

template <class... Args>
[[noreturn]] void fail(Args&&... args) {
    throw Error(concat(std::forward<Args>(args)...));
}

}  // namespace cascadev
