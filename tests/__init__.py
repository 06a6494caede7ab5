# coconut test suite (a package so that child processes can `python -m tests._worker`).
