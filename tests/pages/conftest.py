"""Fixtures of the tests of the staff pages, exports, dashboard, hostile URLs and the browser tests.

A fixture only these tests use goes here. Today they need only the shared ones (people,
voice messages, broadcasts, calls), from the fixture modules listed in tests/conftest.py.
"""
