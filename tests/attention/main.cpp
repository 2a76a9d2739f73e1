#define BOOST_TEST_MODULE cascadev attention
#include <boost/test/unit_test.hpp>
