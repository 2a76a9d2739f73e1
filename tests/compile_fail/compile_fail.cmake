# compile-fail tests (filled in below)
