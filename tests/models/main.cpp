#define BOOST_TEST_MODULE cascadev models
#include <boost/test/unit_test.hpp>
