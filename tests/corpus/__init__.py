"""Differential corpus: plain modules defining functions and a CASES list of
(function, [argument tuples]). Rules: a function's behaviour depends only on its
arguments (a function that writes a global resets it first); arguments must survive
copy.deepcopy. tests/test_differential.py makes one test per function."""
