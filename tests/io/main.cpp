#define BOOST_TEST_MODULE cascadev io
#include <boost/test/unit_test.hpp>
