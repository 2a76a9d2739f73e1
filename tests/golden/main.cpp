#define BOOST_TEST_MODULE cascadev golden runner
#include <boost/test/unit_test.hpp>
