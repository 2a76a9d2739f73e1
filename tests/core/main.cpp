#define BOOST_TEST_MODULE cascadev core
#include <boost/test/unit_test.hpp>
