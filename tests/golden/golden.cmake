# golden case wiring (filled in below)
