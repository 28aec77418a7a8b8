"""Adapters for the evaluation harnesses exported tasks run in (Harbor, Terminal-Bench 1).

The harnesses are real dependencies run as subprocesses (their own CLIs); nothing here
re-implements them. Only these modules know their command lines and result files.
"""
