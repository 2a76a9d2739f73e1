#define BOOST_TEST_MODULE cascadev video
#include <boost/test/unit_test.hpp>
