#include <boost/test/unit_test.hpp>
#include "cascadev/core.hpp"
using namespace cascadev;
BOOST_AUTO_TEST_CASE(extents_smoke) {
    Extents<dyn, 3> e(2);
    BOOST_TEST(e.size() == 6);
}
