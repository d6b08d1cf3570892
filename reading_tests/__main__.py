from reading_tests.cli.root import root_app

root_app(prog_name="python -m reading_tests")
