# Loads the kata's pytest plugin (kata/plugin.py) for every run inside the repository, so the suites
# behave the same from `make`, from a bare `pytest` and from the harness's own tests.
pytest_plugins = ["kata.plugin"]
