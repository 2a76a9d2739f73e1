#define BOOST_TEST_MODULE cascadev cpu backend
#include <boost/test/unit_test.hpp>
