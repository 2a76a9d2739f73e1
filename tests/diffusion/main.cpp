#define BOOST_TEST_MODULE cascadev diffusion
#include <boost/test/unit_test.hpp>
