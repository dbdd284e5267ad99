"""Developer tools outside the library: synthetic reference-data generators, benchmarks and
scripts. They import ``pipeline``; nothing in ``pipeline`` imports them."""
