"""Pure DataFrame -> DataFrame transforms: no reads, no writes, no clocks."""
